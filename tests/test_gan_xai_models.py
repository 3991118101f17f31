"""genxai.gan_xai: SAGAN attention, GAN/CGAN, InfoGAN pieces and the matching accuracy."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genxai.gan_xai import (
    Discriminator,
    GANConfig,
    Generator,
    InfoGANConfig,
    InfoGenerator,
    SelfAttention,
    attention_columns,
    attention_input_columns,
    attention_maps,
    check_generator,
    info_loss,
    matched_accuracy,
)

torch.set_num_threads(1)


def test_attention_starts_as_identity_and_rows_are_distributions():
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 5, 6)
    assert torch.equal(block(x), x)  # gamma = 0 at init
    attn = block.last_attention
    assert attn.shape == (2, 30, 30)
    assert torch.allclose(attn.sum(-1), torch.ones(2, 30), atol=1e-5)
    assert block.query.out_channels == 2 and block.value.out_channels == 16  # C/8 and C
    block.gamma.data.fill_(1.0)
    assert not torch.allclose(block(x), x)


def test_attention_is_sagans_formula():
    """o_i = sum_j softmax_j(q_i . k_j) v_j with q, k, v 1x1 projections (SAGAN Eq. 1-2), then gamma * o + x."""
    torch.manual_seed(0)
    block = SelfAttention(16)
    block.gamma.data.fill_(0.7)
    x = torch.randn(2, 16, 3, 4)

    def conv1x1(layer):  # a 1x1 convolution written out as a sum over input channels
        return (torch.einsum("oc,bchw->bohw", layer.weight[:, :, 0, 0], x) + layer.bias.view(1, -1, 1, 1)).flatten(2)

    q, k, v = conv1x1(block.query), conv1x1(block.key), conv1x1(block.value)
    beta = torch.softmax(torch.einsum("bci,bcj->bij", q, k), dim=-1)  # (B, N_query, N_key)
    o = torch.einsum("bij,bcj->bci", beta, v).view(2, 16, 3, 4)
    assert torch.allclose(block(x), 0.7 * o + x, atol=1e-5)
    assert torch.allclose(block.last_attention, beta, atol=1e-6)


def test_attention_maps_pick_the_query_row():
    torch.manual_seed(0)
    G = Generator(latent_dim=8, width=8, attention=True).eval()
    z = torch.randn(3, 8)
    images, maps = attention_maps(G, z, [(0, 0), (27, 27), (10, 21)])
    assert images.shape == (3, 1, 28, 28) and maps.shape == (3, 3, 14, 14)
    attn = G.attn.last_attention
    assert torch.allclose(maps[:, 0].flatten(1), attn[:, 0])
    assert torch.allclose(maps[:, 1].flatten(1), attn[:, 14 * 14 - 1])
    assert torch.allclose(maps[:, 2].flatten(1), attn[:, 5 * 14 + 10])  # (10, 21) -> (5, 10)
    assert torch.allclose(maps.sum((-1, -2)), torch.ones(3, 3), atol=1e-5)
    _, up = attention_maps(G, z, [(3, 4)], upsample=True)
    assert up.shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="outside"):
        attention_maps(G, z, [(28, 0)])
    with pytest.raises(ValueError, match="no SelfAttention"):
        attention_maps(Generator(8, width=8, attention=False), z, [(0, 0)])


def test_generators_follow_the_protocol_and_pixel_convention():
    torch.manual_seed(0)
    for G in (Generator(16, 0, width=8), Generator(16, 10, width=8), InfoGenerator(6, 10, 2, width=8)):
        G.eval()
        check_generator(G)
        z = G.sample_latent(5)
        x = G(z, **G.sample_condition(5))
        assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    with pytest.raises(ValueError, match="labels"):
        Generator(16, 10, width=8)(torch.randn(2, 16))
    with pytest.raises(ValueError, match="shape"):
        Generator(16, 0, width=8)(torch.randn(2, 15))


def test_cgan_label_changes_the_output_and_projection_uses_labels():
    torch.manual_seed(0)
    G = Generator(16, 10, width=8).eval()
    z = torch.randn(4, 16)
    assert not torch.allclose(G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.ones(4, dtype=torch.long)))
    D = Discriminator(10, width=8).eval()
    x = torch.randn(4, 1, 28, 28)
    d0, d1 = D(x, torch.zeros(4, dtype=torch.long)), D(x, torch.ones(4, dtype=torch.long))
    h = D.features(x)
    assert torch.allclose(d1 - d0, ((D.embed.weight[1] - D.embed.weight[0]) * h).sum(1), atol=1e-5)


def test_infogan_input_layout_and_loss():
    G = InfoGenerator(noise_dim=5, n_cat=10, n_cont=2, width=8)
    noise, cat, cont = G.sample_codes(64, torch.Generator().manual_seed(0))
    z = G.compose(noise, cat, cont)
    assert z.shape == (64, 17)
    assert torch.equal(z[:, 5:15].argmax(1), cat) and torch.equal(z[:, 15:], cont)
    assert cont.min() >= -1 and cont.max() <= 1
    logits = torch.randn(64, 10)
    mu, logvar = torch.zeros(64, 2), torch.zeros(64, 2)
    total, ce, nll = info_loss((logits, mu, logvar), cat, cont, 1.0, 0.1)
    assert torch.isclose(ce, F.cross_entropy(logits, cat))
    assert torch.isclose(nll, 0.5 * (cont**2).sum(1).mean())
    assert torch.isclose(total, ce + 0.1 * nll)
    # a perfect Q (right code, right mean, small variance) scores better than a wrong one
    perfect = info_loss((F.one_hot(cat, 10).float() * 20, cont, torch.full_like(cont, -4.0)), cat, cont)[0]
    assert perfect < total


def test_matched_accuracy_is_invariant_to_code_permutation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    perm = rng.permutation(10)
    acc, mapping = matched_accuracy(perm[labels], labels, 10, 10)
    assert acc == 1.0 and all(mapping[perm[c]] == c for c in range(10))
    noisy = perm[labels].copy()
    noisy[:100] = (noisy[:100] + 1) % 10  # 100 of 500 codes wrong
    assert matched_accuracy(noisy, labels, 10, 10)[0] == pytest.approx(0.8, abs=0.02)
    # two codes collapsed onto one digit can only be matched once
    assert matched_accuracy(np.array([0, 1, 2, 3]), np.array([5, 5, 5, 5]))[0] == 0.25


@pytest.mark.parametrize(
    "config",
    [
        GANConfig(conditional=True, n_train=128, epochs=1, width=4, latent_dim=8, batch_size=32),
        InfoGANConfig(n_train=128, epochs=1, width=4, noise_dim=4, hidden=16, batch_size=32),
    ],
    ids=["cgan", "infogan"],
)
def test_one_epoch_of_training_gives_finite_losses_and_resumes(config, tmp_path):
    torch.manual_seed(0)
    model = config.build()
    ckpt = tmp_path / "ckpt.pt"
    out = config.fit(model, ckpt, torch.device("cpu"), progress=False)
    assert ckpt.exists() and len(out["history"]) == 1
    assert all(np.isfinite(v) for v in out["history"][0].values())
    assert out["metrics"]["n_train"] == 128
    # the cache key covers the attention and GAN sources the model depends on
    names = {p.name for p in config.code_files()}
    assert {"attention.py", "gan.py", "train.py"} <= names


def test_attention_stroke_correlation_separates_digit_shaped_maps():
    from genxai.gan_xai import attention_stroke_correlation

    images = -torch.ones(2, 1, 28, 28)
    images[:, :, 4:24, 12:16] = 1.0  # a vertical bar
    digit_like = torch.nn.functional.adaptive_avg_pool2d(images, 14)[:, None, 0] + 1  # (2, 1, 14, 14)
    uniform = torch.rand(2, 1, 14, 14, generator=torch.Generator().manual_seed(0))
    maps = torch.cat([digit_like, uniform], 1)
    on = torch.tensor([[True, False], [True, False]])
    out = attention_stroke_correlation(images, maps, on)
    assert out["corr_on_stroke"] == pytest.approx(1.0, abs=1e-5)
    assert abs(out["corr_off_stroke"]) < 0.3 and out["n_on"] == 2 and out["n_off"] == 2


def test_attention_maps_take_per_image_queries_picked_on_and_off_the_stroke():
    from genxai.gan_xai.plots import stroke_mask, stroke_queries

    torch.manual_seed(0)
    G = Generator(latent_dim=8, width=8, attention=True).eval()
    z = torch.randn(2, 8)
    images = -torch.ones(2, 1, 28, 28)
    images[0, 0, 10:18, 12:15] = 1.0  # a vertical bar
    images[1, 0, 5:8, 5:20] = 1.0  # a horizontal bar
    q = stroke_queries(images, n_on=3, n_off=2, generator=torch.Generator().manual_seed(0))
    assert q.shape == (2, 5, 2)
    on = stroke_mask(images, q)
    assert on[:, :3].all() and not on[:, 3:].any()
    assert ((q >= 2) & (q < 26)).all()  # margin
    _, maps = attention_maps(G, z, q)
    attn = G.attn.last_attention
    for b in range(2):
        for j in range(5):
            r, c = q[b, j].tolist()
            assert torch.allclose(maps[b, j].flatten(), attn[b, (r // 2) * 14 + c // 2])
    with pytest.raises(ValueError, match="outside"):
        attention_maps(G, z, torch.tensor([[[0, 0]], [[0, 28]]]))


def test_infogan_d_step_sends_the_mutual_information_gradient_into_the_shared_body():
    from genxai.gan_xai.infogan import d_step_loss

    cfg = InfoGANConfig(width=4, noise_dim=4, hidden=16)
    torch.manual_seed(0)
    model = cfg.build()
    G, D, Q = model.G, model.D, model.Q
    noise, cat, cont = G.sample_codes(16, torch.Generator().manual_seed(0))
    fake, real = G.generate(noise, cat, cont).detach(), torch.rand(16, 1, 28, 28) * 2 - 1
    grads = {}
    for lam in (0.0, 1.0):
        D.zero_grad(), Q.zero_grad()
        d_step_loss(D, Q, real, fake, cat, cont, InfoGANConfig(lambda_cat=lam, lambda_cont=lam)).backward()
        grads[lam] = torch.cat([p.grad.flatten() for p in D.body.parameters()])
        if lam:
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in Q.cat.parameters())
    assert not torch.allclose(grads[0.0], grads[1.0])  # the MI term reaches D's body
    # fixed_std ignores Q's log-variance: unit-variance Gaussian NLL
    mu = torch.zeros(16, 2)
    fixed = info_loss((torch.zeros(16, 10), mu, torch.full_like(mu, -3.0)), cat, cont, 0.0, 1.0, fixed_std=True)[2]
    assert torch.isclose(fixed, 0.5 * (cont**2).sum(1).mean())


def test_random_affine_is_identity_at_zero_range_keeps_background_and_passes_gradients():
    """The classifiers' augmentation, which InfoGAN's transformation-invariant code reuses on its fakes."""
    from genxai.models.classifiers import random_affine

    def seeded(*args, **kw):
        torch.manual_seed(3)
        return random_affine(*args, **kw)

    x = -torch.ones(4, 1, 28, 28)
    x[:, :, 8:20, 12:16] = 1.0
    assert torch.allclose(seeded(x, 0, max_rotate=0, max_scale=0), x, atol=1e-5)
    blank = -torch.ones(4, 1, 28, 28)
    assert torch.allclose(seeded(blank, 2, max_rotate=25), blank, atol=1e-6)  # padding is background, not grey
    moved = seeded(x, 2, max_rotate=30)
    assert torch.equal(moved, seeded(x, 2, max_rotate=30))  # seeded: reproducible
    assert (moved - x).abs().amax(dim=(1, 2, 3)).min() > 0.5  # every image really moves
    assert moved.min() >= -1 - 1e-5 and moved.max() <= 1 + 1e-5
    # a shift of at most one pixel, no rotation or zoom: the 4-pixel bar keeps its width and moves <= 1 column
    torch.manual_seed(0)
    right = random_affine(x[:1], 1, max_rotate=0, max_scale=0)
    cols = (right[0, 0] > 0).any(0).nonzero().flatten()
    assert len(cols) == 4 and abs(int(cols[0]) - 12) <= 1
    leaf = x.clone().requires_grad_(True)
    seeded(leaf, 2, max_rotate=25).sum().backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0


def test_infogan_augmentation_term_changes_training_only_when_weighted(tmp_path):
    base = dict(n_train=64, epochs=1, width=4, noise_dim=4, hidden=16, batch_size=32)
    weights = {}
    for lam in (0.0, 1.0):
        torch.manual_seed(0)
        cfg = InfoGANConfig(**base, lambda_aug=lam)
        model = cfg.build()
        cfg.fit(model, tmp_path / f"aug{lam}.pt", torch.device("cpu"), progress=False)
        weights[lam] = torch.cat([p.detach().flatten() for p in model.G.parameters()])
    assert torch.isfinite(weights[1.0]).all()
    assert not torch.allclose(weights[0.0], weights[1.0])


def test_attention_columns_find_a_border_sink_and_a_checkerboard():
    """Off-stroke queries that all attend the last column, on-stroke ones that attend odd columns only."""
    h = w = 14
    maps = torch.zeros(2, 4, h, w)
    maps[:, :2, :, w - 1] = 0.9 / h  # queries 0, 1: mostly the right border column (odd, but a border) ...
    maps[:, :2, :, 2:12:2] = 0.1 / (h * 5)  # ... the rest on even interior columns
    maps[:, 2:, :, 1::2] = 1.0 / (h * 7)  # queries 2, 3: the odd columns
    on = torch.tensor([[False, False, True, True]] * 2)
    c = attention_columns(maps, on)
    assert c["off_stroke_border_mass"] == pytest.approx(0.9) and c["border_mass_uniform"] == pytest.approx(2 / 14)
    assert c["off_stroke_odd_mass"] == pytest.approx(0.0)  # a border sink on column 13 is no checkerboard
    assert c["on_stroke_odd_mass"] == pytest.approx(1.0) and c["odd_mass_uniform"] == pytest.approx(0.5)
    assert c["on_stroke_border_mass"] == pytest.approx(1 / 7)  # column 13 is odd: one of the seven odd columns
    assert sum(c["off_stroke_columns"]) == pytest.approx(1.0) and len(c["on_stroke_columns"]) == w
    uniform = attention_columns(torch.full((1, 2, h, w), 1.0 / (h * w)), torch.tensor([[True, False]]))
    assert uniform["off_stroke_border_mass"] == pytest.approx(uniform["border_mass_uniform"])


def test_attention_input_columns_read_the_block_input_and_leave_the_generator_as_it_was():
    torch.manual_seed(0)
    G = Generator(latent_dim=8, width=8).train()
    z = torch.randn(5, 8)
    seen = {}
    hook = G.attn.register_forward_hook(lambda m, i, o: seen.setdefault("x", i[0]))
    G.eval()
    with torch.no_grad():
        G(z)
    hook.remove()
    G.train()
    out = attention_input_columns(G, z)
    x = seen["x"]
    assert G.training and not G.attn._forward_hooks  # mode restored, hook removed
    assert out["feature_norm"] == pytest.approx(x.norm(dim=1).mean((0, 1)).tolist(), rel=1e-5)
    assert out["key_norm"] == pytest.approx(G.attn.key(x).norm(dim=1).mean((0, 1)).tolist(), rel=1e-5)
    assert len(out["key_norm"]) == 14


def test_resize_upsampling_treats_every_column_alike_where_the_transposed_convolution_does_not():
    """The cause of the border and checkerboard attention (docs/gan_xai.md): on a constant input a stride-2
    transposed convolution answers differently on odd and even columns and on the border columns; the
    resize-convolution (nearest upsampling, 3x3 conv with replicated borders) answers the same everywhere."""
    from genxai.gan_xai.gan import _upsample

    torch.manual_seed(0)
    flat = torch.ones(1, 8, 7, 7)
    with torch.no_grad():
        t = _upsample(8, 4, "transposed")(flat)
        r = _upsample(8, 4, "resize")(flat)
    assert t.shape == r.shape == (1, 4, 14, 14)
    t_cols = t.mean(dim=(0, 1, 2))
    interior = t_cols[1:-1]
    assert (interior[0::2] - interior[1::2]).abs().min() > 1e-3  # parity: odd and even columns differ
    assert (t_cols[[0, -1]] - interior.mean()).abs().min() > 1e-3  # the borders differ from the interior
    assert torch.allclose(r, r[..., :1, :1].expand_as(r), atol=1e-6)  # one value per channel everywhere


def test_generator_rejects_an_unknown_upsampling_and_keeps_the_pixel_convention_with_resize():
    with pytest.raises(ValueError, match="upsample must be one of"):
        Generator(8, upsample="bilinear")
    torch.manual_seed(0)
    G = Generator(8, n_classes=10, width=4, upsample="resize").eval()
    x = G(torch.randn(3, 8), labels=torch.tensor([0, 1, 2]))
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32 and x.abs().max() <= 1


def test_generator_of_finds_the_one_thread_gan_from_a_two_thread_caller(tmp_path, monkeypatch):
    """The notebooks train GANs in one-thread processes; a two-thread caller must get that model, not train
    another (the cache keys a CPU model by its thread count)."""
    from genxai.gan_xai import generator_of
    from genxai.models import get_or_train
    from genxai.paths import cache_dir

    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path))  # a private model cache; the data stay where they are
    cfg = GANConfig(n_train=64, epochs=1, width=4, latent_dim=8, batch_size=32)
    trained = get_or_train(cfg, progress=False, threads=1).model.G
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        G = generator_of(cfg, progress=False)
    finally:
        torch.set_num_threads(before)
    assert len(list((cache_dir("models") / cfg.family).glob("*.pt"))) == 1  # nothing trained a second time
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert torch.equal(G.eval()(z), trained.eval()(z))
