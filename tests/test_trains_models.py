"""WGAN-GP pieces, steering, VAE, frontier bisection, synth folder and the widget explorer (tiny models)."""

import pandas as pd
import pytest
import torch
from torch import nn

from genxai.trains import frontier as fr
from genxai.trains import vae as V
from genxai.trains import wgan_gp as G


class Linear2(nn.Module):
    """A frozen 2-class 'classifier' on images: logit difference = 4 * mean pixel."""

    def forward(self, x):
        m = x.flatten(1).mean(1, keepdim=True) * 4
        return torch.cat([m, -m], 1)


def test_generator_critic_shapes():
    for c, s in ((1, 28), (3, 32), (3, 64)):
        g, d = G.Generator(8, c, s, 8), G.Critic(c, s, 8)
        x = g(torch.randn(5, 8))
        assert x.shape == (5, c, s, s) and x.min() >= -1 and x.max() <= 1
        assert d(x).shape == (5,)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.Critic(1, 28, 8).modules())


def test_gradient_penalty_uses_per_sample_flattened_norm():
    torch.manual_seed(0)
    w = torch.randn(1, 2, 3, 3)

    class Lin(nn.Module):
        def forward(self, x):
            return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    # the critic is linear: gradient = w for every sample; penalty = (||w||_2 - 1)^2 exactly
    gp = G.gradient_penalty(Lin(), real, fake)
    assert torch.allclose(gp, (w.flatten().norm() - 1) ** 2, atol=1e-5)
    # the buggy norm over dim 1 only would differ
    assert not torch.allclose(gp, ((w.norm(2, dim=1) - 1) ** 2).mean(), atol=1e-3)


def test_steering_pushes_generator_and_leaves_classifier_frozen():
    torch.manual_seed(0)
    g = G.Generator(8, 1, 8, 8)
    clf = G.freeze(Linear2())
    opt = torch.optim.Adam(g.parameters(), lr=1e-2)
    z = torch.randn(64, 8)
    before = float((clf(g(z)).argmax(1) == 1).float().mean())
    for _ in range(40):
        loss = G.steering_loss(clf, g(torch.randn(64, 8)), 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    g.eval()
    after = float((clf(g(z)).argmax(1) == 1).float().mean())
    assert after >= 0.95 and after > before


def test_wgan_fit_records_share_and_snapshots(tmp_genxai, monkeypatch):
    from genxai.models import cache
    from genxai.models.classifiers import ClassifierConfig

    clf = dict(
        dataset="trains",
        data_kwargs={"task": "EmptyTrain", "n_images": 64, "img_size": 16},
        epochs=1,
        width=4,
        batch_size=32,
    )
    cfg = G.WGANGPConfig(
        dataset="trains",
        data_kwargs={"task": "EmptyTrain", "n_images": 64, "img_size": 16},
        z_dim=8,
        width=8,
        epochs=2,
        batch_size=16,
        classifier=clf,
        steer_class=1,
        steer_weight=1.0,
        n_monitor=16,
    )
    out = cache.get_or_train(cfg, progress=False)
    hist = out.record["history"]
    assert len(hist) == 2 and all(0 <= h["share_assigned"] <= 1 for h in hist)
    snaps = G.snapshots(cfg)
    assert sorted(snaps) == [0, 1] and snaps[1][0].shape == (16, 3, 16, 16)
    with pytest.raises(ValueError, match="needs a classifier"):
        cache.get_or_train(
            G.WGANGPConfig(dataset="trains", data_kwargs=cfg.data_kwargs, z_dim=8, width=8, epochs=1, steer_weight=1.0),
            progress=False,
        )
    assert ClassifierConfig(**clf)


def test_wgan_continues_from_init_and_the_critic_gets_its_own_learning_rate(tmp_genxai, monkeypatch):
    from genxai.models import cache

    kw = dict(dataset="trains", data_kwargs={"task": "EmptyTrain", "n_images": 32, "img_size": 16}, z_dim=8, width=8)
    pre = G.WGANGPConfig(**kw, epochs=1, batch_size=16)
    start = cache.get_or_train(pre, progress=False).model
    # zero epochs of continuation: the run is exactly its starting point, batch-norm statistics included
    same = cache.get_or_train(G.WGANGPConfig(**kw, epochs=0, init=pre.to_dict()), progress=False).model
    for (name, a), b in zip(start.state_dict().items(), same.state_dict().values()):
        assert torch.equal(a, b), name
    # one epoch on (one critic batch per generator step): it moves away from the start, and is not a run from scratch
    one = dict(kw, epochs=1, batch_size=16, n_critic=1)
    on = cache.get_or_train(G.WGANGPConfig(**one, init=pre.to_dict()), progress=False).model
    scratch = cache.get_or_train(G.WGANGPConfig(**one), progress=False).model
    w = [m.generator.out[0].weight for m in (start, on, scratch)]
    assert not torch.equal(w[1], w[0]) and not torch.equal(w[1], w[2])
    assert (w[1] - w[0]).abs().max() < (w[1] - w[2]).abs().max()  # two steps from the start, far from scratch
    with pytest.raises(ValueError, match="same z_dim and width"):
        cache.get_or_train(G.WGANGPConfig(**{**kw, "z_dim": 4}, epochs=1, init=pre.to_dict()), progress=False)

    seen = []
    real_adam = torch.optim.Adam

    def spy(params, lr, **rest):
        seen.append(lr)
        return real_adam(params, lr=lr, **rest)

    monkeypatch.setattr(torch.optim, "Adam", spy)
    cache.get_or_train(G.WGANGPConfig(**kw, epochs=1, batch_size=16, lr=1e-4, lr_d=4e-4, seed=3), progress=False)
    assert seen == [1e-4, 4e-4]  # generator, critic


def test_vae_loss_and_shapes():
    v = V.ConvVAE(3, 32, 6, 8)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    recon, mu, logvar = v(x)
    assert recon.shape == x.shape and mu.shape == (4, 6)
    loss, kl = V.vae_loss(x, recon, mu, logvar)
    assert kl >= 0 and loss >= kl
    zero_kl = V.vae_loss(x, x, torch.zeros(4, 6), torch.zeros(4, 6))[1]
    assert float(zero_kl) == 0.0


def test_bisection_finds_frontier_within_tolerance():
    clf = Linear2()
    decode = lambda z: z.view(-1, 1, 2, 2).tanh()
    za = torch.full((5, 4), 1.0) + torch.rand(5, 4)  # mean pixel > 0 -> class 0
    zb = torch.full((5, 4), -1.0) - torch.rand(5, 4)  # class 1
    res = fr.bisect(decode, clf, za, zb, class_a=0, tol=0.02)
    assert res.hit.all() and ((res.p - 0.5).abs() <= 0.02).all()
    assert ((res.t > 0) & (res.t < 1)).all()
    imgs, t, p = fr.traversal(decode, clf, za, zb, 0, steps=7)
    assert imgs.shape == (5, 7, 1, 2, 2) and p[:, 0].gt(0.5).all() and p[:, -1].lt(0.5).all()


def test_endpoints_refine_latents_the_classifier_rarely_gives_class_b():
    """With a pool decoded almost only to class A, endpoints moves the best B candidates until the
    classifier gives them B with p >= margin, and bisection between the ends then hits the frontier."""
    clf = Linear2()
    decode = lambda z: z.view(-1, 1, 2, 2).tanh()
    torch.manual_seed(0)
    pool = torch.rand(40, 4) * 0.5 + 0.1  # every latent decodes to class 0 (mean > 0)
    za, zb, info = fr.endpoints(pool, decode, clf, 0, 1, n=6, return_info=True)
    assert len(za) == len(zb) == 6
    assert info["refined_b"] == 6 and info["below_margin_b"] == 0 and info["refined_a"] == 0
    assert (fr.prob(decode, clf, zb, 1) >= 0.75).all() and (fr.prob(decode, clf, za, 0) >= 0.75).all()
    res = fr.bisect(decode, clf, za, zb, class_a=0, tol=0.02)
    assert res.hit.all()
    # without refinement the B ends stay on the A side: bisection has no crossing and misses
    za0, zb0 = fr.endpoints(pool, decode, clf, 0, 1, n=6, refine_steps=0)
    assert not fr.bisect(decode, clf, za0, zb0, class_a=0, tol=0.02).hit.any()


def test_synth_writes_pngs_and_labels(tmp_path):
    from genxai import cli
    from genxai.trains import synth

    torch.manual_seed(0)
    decode = lambda z: z[:, :4].view(-1, 1, 2, 2).tanh()
    imgs, table = synth.synthesize(decode, 4, Linear2(), ("dark", "light"), n_per_class=5, pool=200)
    assert (table["class"].value_counts() == 5).all()
    conf_imgs, conf = synth.synthesize(decode, 4, Linear2(), ("dark", "light"), 5, pool=200, confident=0.9)
    assert (conf[["p_dark", "p_light"]].max(axis=1) >= 0.9).all()
    fimgs, ftable = synth.synthesize(decode, 4, Linear2(), ("dark", "light"), 5, pool=200, frontier=True)
    assert len(ftable) > 0 and ((ftable["p_dark"] - 0.5).abs() <= 0.02).all()
    path = synth.write_folder(imgs, table, tmp_path / "out")
    df = pd.read_csv(path)
    assert len(df) == 10 and all((tmp_path / "out" / f).exists() for f in df.file)
    assert "synth" in cli.build_parser()._subparsers._group_actions[0].choices


def test_explorer_callbacks_headless():
    pytest.importorskip("ipywidgets")
    from genxai.explorer import LatentExplorer, frontier_from_bisect

    decode = lambda z: z.view(-1, 1, 2, 2).tanh()
    ex = LatentExplorer(
        decode,
        Linear2(),
        torch.full((4,), 1.0),
        class_names=("dark", "light"),
        frontier=frontier_from_bisect(fr.bisect),
    )
    p0 = float(ex.probs[0])
    assert p0 > 0.9 and ex.bars[0].value == pytest.approx(p0) and ex.image_view.value[:4] == b"\x89PNG"
    ex.sliders[0].value = -3.0  # move toward the other class: probabilities update live
    assert float(ex.probs[0]) < p0 and ex.bars[0].value == pytest.approx(float(ex.probs[0]))
    ex.sliders[0].value = 0.0
    ex.button.click()  # go to frontier
    assert abs(float(ex.probs[0]) - 0.5) <= 0.02 and "frontier" in ex.status.value


def test_concept_cnn_is_translation_invariant_and_cached_apart():
    """Global max pooling: a pattern moved by a multiple of the total stride (4) away from the borders
    gives the same logits; the concept classifier has its own cache key (family and code file)."""
    from genxai.models import ClassifierConfig, cache_key
    from genxai.trains.concept_cnn import ConceptClassifierConfig, ConceptCNN

    torch.manual_seed(0)
    m = ConceptCNN(3, 2, width=4).eval()
    x, y = -torch.ones(2, 1, 3, 96, 96)
    x[..., 40:44, 40:45] = 1.0
    y[..., 52:56, 44:49] = 1.0
    with torch.no_grad():
        assert torch.allclose(m(x), m(y), atol=1e-5)
        # not trivially: the feature maps before the global pool do differ (shifted)
        before_pool = m.body[:-2]
        assert not torch.allclose(before_pool(x), before_pool(y), atol=1e-5)
    assert m.features(x).shape == (1, 64)
    kw = dict(dataset="trains", data_kwargs={"task": "TypeA", "n_images": 40, "img_size": 32})
    assert cache_key(ConceptClassifierConfig(**kw)) != cache_key(ClassifierConfig(**kw))


def test_concept_cnn_scores_large_batches_in_chunks_with_the_same_logits():
    """Inference without gradients runs in EVAL_CHUNK-image chunks; the logits equal one pass over the batch (as in
    training mode or with gradients, where nothing is split), and the weights sit channels-last."""
    from genxai.trains.concept_cnn import ConceptCNN

    torch.manual_seed(0)
    m = ConceptCNN(3, 2, width=4, space_to_depth=2).eval()
    x = torch.randn(2 * ConceptCNN.EVAL_CHUNK + 5, 3, 32, 32)
    calls = []
    m.body.register_forward_hook(lambda mod, inp, out: calls.append(len(inp[0])))
    with torch.no_grad():
        chunked = m(x)
    assert calls == [ConceptCNN.EVAL_CHUNK] * 2 + [5]
    whole = m(x).detach()  # gradients on: one pass
    assert calls[-1] == len(x) and torch.allclose(chunked, whole, atol=1e-5)
    assert m.body[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_concept_cnn_space_to_depth_stem_is_lossless_and_checks_the_size():
    """The k x k stem only rearranges pixels (PixelShuffle undoes it), so a k-times render keeps every
    pixel; the first conv sees k*k times the channels; a size that k does not divide is refused."""
    from genxai.trains.concept_cnn import ConceptCNN

    torch.manual_seed(0)
    m = ConceptCNN(3, 2, width=4, space_to_depth=2).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(torch.nn.functional.pixel_shuffle(m.stem(x), 2), x)
    assert m.body[0].in_channels == 12 and m(x).shape == (2, 2)
    # its stride is 8: a pattern moved by 8 px away from the borders gives the same logits
    a, b = -torch.ones(2, 1, 3, 160, 160)
    a[..., 72:76, 72:77] = 1.0
    b[..., 80:84, 88:93] = 1.0
    with torch.no_grad():
        assert torch.allclose(m(a), m(b), atol=1e-5)
    with pytest.raises(ValueError, match="multiple of space_to_depth=2"):
        m(torch.zeros(1, 3, 33, 32))
    with pytest.raises(ValueError, match="positive int"):
        ConceptCNN(3, 2, space_to_depth=0)


def test_concept_classifier_augments_by_whole_pixel_shifts_only():
    """Every augmented image is the original moved by whole pixels (the border filled with -1), so no
    cargo shape is resampled; the standard classifiers' affine augmentation does resample."""
    from genxai.models import ClassifierConfig
    from genxai.trains.concept_cnn import ConceptClassifierConfig

    torch.manual_seed(0)
    x = torch.rand(16, 3, 20, 20) * 2 - 1
    out = ConceptClassifierConfig(dataset="trains", max_shift=2).augment(x)
    pad = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    for img, orig in zip(out, pad):
        assert any(torch.equal(img, orig[:, dy : dy + 20, dx : dx + 20]) for dy in range(5) for dx in range(5))
    resampled = ClassifierConfig(dataset="trains", max_shift=2, max_rotate=0.0).augment(x)
    assert not torch.isin(resampled, torch.cat([x.flatten(), torch.tensor([-1.0])])).all()
    with pytest.raises(ValueError, match="max_rotate=0.0"):
        ConceptClassifierConfig(dataset="trains", max_rotate=10.0)


def test_concept_heads_learn_table_columns_and_leave_the_output_alone(tmp_genxai):
    """aux_concepts: forward() still returns the task's logits only; the training loss adds the heads' BCE
    on the attribute table's columns (one row per image, following subsets); bad columns fail early."""
    from genxai.models import get_or_train
    from genxai.trains.concept_cnn import ConceptClassifierConfig

    kw = dict(
        dataset="trains",
        data_kwargs={"task": "TypeA", "n_images": 64, "img_size": 32},
        epochs=1,
        width=4,
        batch_size=32,
        max_shift=1,
        space_to_depth=2,
    )
    cfg = ConceptClassifierConfig(**kw, aux_concepts=["PassengerCar", "ReinforcedCar"], aux_weight=2.0)
    train = cfg.data("train")
    model = cfg.build().eval()  # no dropout: the two losses see the same features
    assert model.aux.out_features == 2
    x, y, idx = train.images[:8], train.labels[:8], torch.arange(8)
    with torch.no_grad():
        assert model(x).shape == (8, 2)
        h = model.features(x)
        target = torch.tensor(
            train.extra["table"][["PassengerCar", "ReinforcedCar"]].to_numpy()[:8], dtype=torch.float32
        )
        expected = torch.nn.functional.cross_entropy(
            model.head(h), y
        ) + 2.0 * torch.nn.functional.binary_cross_entropy_with_logits(model.aux(h), target)
        assert torch.allclose(cfg.loss(model, x, y, train, idx), expected)
        plain = ConceptClassifierConfig(**kw)
        assert torch.allclose(plain.loss(model, x, y, train, idx), torch.nn.functional.cross_entropy(model(x), y))
    # a subset keeps the table aligned with its images
    sub = train.take(torch.tensor([5, 2, 9]))
    assert sub.extra["table"]["TypeA"].tolist() == [bool(v) for v in train.labels[[5, 2, 9]]]
    # training works end to end, and the cached model has the heads
    trained = get_or_train(cfg, progress=False).model
    assert trained.aux is not None and trained(x).shape == (8, 2)
    with pytest.raises(ValueError, match="not columns of the attribute table"):
        ConceptClassifierConfig(**kw, aux_concepts=["Passengers"]).build()
    with pytest.raises(ValueError, match="per-image attribute table"):
        ConceptClassifierConfig(dataset="digits", aux_concepts=["PassengerCar"]).build()
    with pytest.raises(TypeError, match="list of column names"):
        ConceptClassifierConfig(**kw, aux_concepts="PassengerCar")


def test_concept_classifier_monitors_a_test_sample_each_epoch():
    """The per-epoch curve scores the first monitor_n test images; None scores them all."""
    from genxai.data.base import ImageSet
    from genxai.trains.concept_cnn import ConceptClassifierConfig

    class FirstPixel(nn.Module):  # predicts class 1 where the first pixel is positive
        def forward(self, x):
            return torch.stack([-x[:, 0, 0, 0], x[:, 0, 0, 0]], 1)

    x = -torch.ones(10, 3, 4, 4)
    x[:4, 0, 0, 0] = 1.0  # right on the first 4, wrong on the other 6
    test = ImageSet(x, torch.ones(10, dtype=torch.long), ("no", "yes"), "t", "test", "hand-made")
    model = FirstPixel()
    model.weight = nn.Parameter(torch.zeros(1))  # predict_logits needs a parameter for the device
    assert ConceptClassifierConfig(dataset="trains", monitor_n=4).epoch_test_acc(model, test) == 1.0
    assert ConceptClassifierConfig(dataset="trains", monitor_n=None).epoch_test_acc(model, test) == pytest.approx(0.4)
