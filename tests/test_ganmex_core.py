"""GANMEX library: baselines, one-vs-one attributions, metrics, randomisation, networks (no data files)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from genxai.ganmex import metrics as M
from genxai.ganmex.attribution import METHODS, attribute, expected_gradients, explain
from genxai.ganmex.baselines import KINDS, make_baseline, mdts
from genxai.ganmex.networks import Critic, Generator
from genxai.ganmex.randomisation import cascade_layers, layer_labels, randomised_copy
from genxai.models import SmallCNN

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    clf = SmallCNN(in_channels=1, n_classes=4, img_size=12, width=4, hidden=16).eval()
    gen = Generator(1, 4, dim=4, n_res=1, residual=False).eval()
    with torch.no_grad():  # give the generator a non-zero output layer
        for p in gen.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.rand(6, 1, 12, 12) * 2 - 1
    train_x = torch.rand(40, 1, 12, 12) * 2 - 1
    train_y = torch.arange(40) % 4
    return clf, gen, x, (train_x, train_y)


def test_every_baseline_kind_is_shaped_like_inputs(setup):
    clf, gen, x, train = setup
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    for kind in KINDS:
        b = make_baseline(kind, x, target, train=train, generator=gen)
        assert b.shape == x.shape, kind
        assert b.min() >= -1 and b.max() <= 1, kind
    assert (make_baseline("zero", x) == -1).all()
    assert (make_baseline("max", x) == 1).all()


def test_class_targeted_baselines_need_their_inputs(setup):
    _, _, x, train = setup
    with pytest.raises(ValueError, match="target"):
        make_baseline("mdts", x, None, train=train)
    with pytest.raises(ValueError, match="train="):
        make_baseline("eg", x, 1)
    with pytest.raises(ValueError, match="generator="):
        make_baseline("ganmex", x, 1)
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("black", x)


def test_mdts_is_the_nearest_training_image_of_the_target_class(setup):
    _, _, x, (tx, ty) = setup
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    b = mdts(x, target, tx, ty, chunk=3)  # small chunks exercise the running minimum
    for i in range(len(x)):
        pool = tx[ty == target[i]]
        d = (pool - x[i]).flatten(1).norm(dim=1)
        assert torch.equal(b[i], pool[d.argmin()])


def test_eg_samples_come_from_the_target_class(setup):
    _, _, x, (tx, ty) = setup
    b = make_baseline("eg", x, 2, train=(tx, ty), seed=3)
    pool = tx[ty == 2].flatten(1)
    for row in b.flatten(1):
        assert (pool == row).all(1).any()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["target", "difference"])
def test_every_method_accepts_per_example_baselines(setup, method, mode):
    clf, gen, x, train = setup
    c_t = torch.tensor([1, 2, 3, 0, 1, 2])
    b = make_baseline("ganmex", x, c_t, generator=gen)
    a = attribute(method, clf, x, 0, b, contrast=c_t, mode=mode, n_steps=8, window=3, stride=3)
    assert a.shape == x.shape and torch.isfinite(a).all()


def test_ig_completeness_with_ganmex_baselines(setup):
    clf, gen, x, _ = setup
    c_o, c_t = torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([1, 2, 3, 0, 2, 3])
    b = make_baseline("ganmex", x, c_t, generator=gen)
    a = attribute("ig", clf, x, c_o, b, n_steps=300)
    with torch.no_grad():
        gap = clf(x).gather(1, c_o[:, None])[:, 0] - clf(b).gather(1, c_o[:, None])[:, 0]
    assert torch.allclose(a.flatten(1).sum(1), gap, atol=2e-2 * gap.abs().max().item() + 1e-3)
    # logit-difference one-vs-one: completeness of S_co - S_ct
    a = attribute("ig", clf, x, c_o, b, contrast=c_t, mode="difference", n_steps=300)
    with torch.no_grad():
        d = lambda z: (clf(z).gather(1, c_o[:, None]) - clf(z).gather(1, c_t[:, None]))[:, 0]
    gap = d(x) - d(b)
    assert torch.allclose(a.flatten(1).sum(1), gap, atol=2e-2 * gap.abs().max().item() + 1e-3)


def test_deeplift_summation_to_delta_with_ganmex_baselines(setup):
    _, gen, x, _ = setup
    torch.manual_seed(1)  # conv-ReLU-linear: DeepLift's rescale rule sums exactly to the output gap
    clf = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(400, 4)).eval()
    b = make_baseline("ganmex", x, 3, generator=gen)
    a = attribute("deeplift", clf, x, 1, b)
    with torch.no_grad():
        gap = clf(x)[:, 1] - clf(b)[:, 1]
    assert torch.allclose(a.flatten(1).sum(1), gap, atol=1e-4)


def test_deepliftshap_with_baseline_sets_and_eg(setup):
    clf, _, x, train = setup
    sets = torch.stack([make_baseline("eg", x, 2, train=train, seed=s) for s in range(3)], 1)
    a = attribute("deepliftshap", clf, x, 0, sets)
    assert a.shape == x.shape
    # DeepLiftShap = mean of DeepLift over the set
    ref = torch.stack([attribute("deeplift", clf, x, 0, sets[:, k]) for k in range(3)]).mean(0)
    assert torch.allclose(a, ref, atol=1e-5)
    e1 = expected_gradients(clf, x, 0, 2, train, n_samples=4, seed=1)
    e2 = expected_gradients(clf, x, 0, 2, train, n_samples=4, seed=1)
    assert e1.shape == x.shape and torch.equal(e1, e2)  # seeded (NumPy too)
    for method in ("ig", "deeplift", "occlusion"):
        assert explain(method, "eg", clf, x, 0, 2, train=train, n_eg=2, n_steps=4, window=3, stride=3).shape == x.shape


def test_zero_baseline_map_ignores_the_target_in_target_mode(setup):
    clf, _, x, train = setup
    a1 = explain("ig", "zero", clf, x, 0, 1, train=train, n_steps=8)
    a2 = explain("ig", "zero", clf, x, 0, 3, train=train, n_steps=8)
    assert torch.equal(a1, a2)
    d1 = explain("ig", "zero", clf, x, 0, 1, train=train, n_steps=8, mode="difference")
    assert not torch.allclose(a1, d1)


def test_inverse_localisation_on_hand_made_masks():
    mask = torch.zeros(3, 4, 4, dtype=torch.bool)
    mask[:, :2] = True  # top half distinguishing
    a = torch.zeros(3, 1, 4, 4)
    a[0, 0, :2] = 1.0  # only on S_d -> 0
    a[1] = -1.0  # uniform |A| -> 1
    a[2, 0, :2], a[2, 0, 2:] = 2.0, 0.5  # ratio 0.5 / 2
    L = M.inverse_localisation(a, mask)
    assert torch.allclose(L, torch.tensor([0.0, 1.0, 0.25]))
    with pytest.raises(ValueError, match="both"):
        M.inverse_localisation(a, torch.ones(3, 4, 4, dtype=torch.bool))


def test_inverse_localisation_pins_the_papers_formula():
    """GANMEX Sec. 4.1: L = (sum_{S_c}|A_i| / card S_c) / (sum_{S_d}|A_i| / card S_d), S_c the complement
    of S_d; |A| of a multi-channel map is summed over channels; regions of unequal size."""
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[:, 0, 0] = True  # S_d: one pixel, S_c: 15 pixels
    a = torch.zeros(2, 3, 4, 4)
    a[0, 0, 0, 0], a[0, 1, 0, 0] = 2.0, -1.0  # |A| on S_d: 3 (channels summed, signs dropped)
    a[0, 2, 3, 3] = -1.5  # |A| on S_c: 1.5 over 15 pixels
    a[1, :, :, :] = 0.1  # uniform map -> 1 whatever the areas
    L = M.inverse_localisation(a, mask)
    expected0 = (1.5 / 15) / (3.0 / 1)
    assert torch.allclose(L, torch.tensor([expected0, 1.0]))
    # a map that puts everything on the common region (nothing on S_d) is penalised, not rewarded
    bad = torch.zeros(1, 1, 4, 4)
    bad[0, 0, 3, 3] = 1.0
    assert M.inverse_localisation(bad, mask[:1]) > 1e6


def test_table1_uses_object_mask_for_object_pairs_and_background_for_scene_pairs(monkeypatch):
    """ "different object" pairs: S_d = the object; "different scene" pairs: S_d = the background."""
    from genxai.ganmex import experiments as E

    obj = torch.zeros(4, 8, 8, dtype=torch.bool)
    obj[:, 2:4, 2:4] = True  # 4-pixel object, 60-pixel scene

    def on_object(method, kind, clf, x, c_o, c_t, **kw):  # every map: |A| = 1 on the object only
        return obj[:, None].float().expand(-1, 3, -1, -1).clone() + 0.01

    monkeypatch.setattr(E, "explain", on_object)
    kinds = ["different object", "different object", "different scene", "different scene"]
    t = E.localisation_table(
        None, torch.zeros(4, 3, 8, 8), torch.zeros(4), torch.zeros(4), obj, kinds, None, None
    ).set_index("pairs")
    common_obj = 3 * 0.01 / (3 * 1.01)  # background / object
    assert t.loc["different object", "IG zero"] == pytest.approx(common_obj, rel=1e-5)
    assert t.loc["different scene", "IG zero"] == pytest.approx(1 / common_obj, rel=1e-5)
    assert t.loc["overall", "n"] == 4


def test_table1_pairs_differ_from_the_label_in_exactly_one_factor():
    """Each image of the 2 objects x 2 scenes benchmark gets one "different object" and one "different scene"
    pair; the target keeps the other factor (class = object * 2 + scene)."""
    from genxai.ganmex import experiments as E

    labels = torch.tensor([0, 3, 1, 2, 2])
    idx, tgt, kinds = E.one_factor_pairs(labels, 4)
    assert idx.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    for i, t, kind in zip(idx.tolist(), tgt.tolist(), kinds):
        c = int(labels[i])
        same_object, same_scene = c // 2 == t // 2, c % 2 == t % 2
        assert (same_object, same_scene) == ((False, True) if kind == "different object" else (True, False))
    assert sorted(kinds[:2]) == ["different object", "different scene"]
    with pytest.raises(ValueError, match="one-factor"):
        E.one_factor_pairs(torch.tensor([0]), 1)


def test_long_row_titles_of_saliency_grids_break_after_the_arrow():
    from genxai.ganmex.plots import row_label

    assert row_label("3->8") == "3->8" and row_label("T-shirt/top->Shirt") == "T-shirt/top->Shirt"
    assert row_label("trouser-checker->bag-checker") == "trouser-checker->\nbag-checker"


def test_table1_median_is_robust_to_one_outlier_pair_and_the_mean_is_not():
    from genxai.ganmex import experiments as E

    per = pd.DataFrame(
        {
            "pairs": ["different object"] * 3 + ["different scene"] * 2,
            "IG zero": [0.1, 0.2, 90.0, 1.0, 3.0],
            "EG": [0.5, 0.5, 0.5, 2.0, 2.0],
        }
    )
    mean = E.summarise_localisation(per).set_index("pairs")
    median = E.summarise_localisation(per, "median").set_index("pairs")
    assert mean.loc["different object", "IG zero"] == pytest.approx(90.3 / 3)
    assert median.loc["different object", "IG zero"] == pytest.approx(0.2)
    assert median.loc["different scene", "IG zero"] == pytest.approx(2.0)
    assert median.loc["overall", "IG zero"] == pytest.approx(1.0) and median.loc["overall", "n"] == 5
    assert list(mean.columns) == ["n", "IG zero", "EG"]
    with pytest.raises(ValueError, match="statistic"):
        E.summarise_localisation(per, "mode")


def test_similarities_and_sparseness():
    a = torch.rand(4, 1, 16, 16)
    assert torch.allclose(M.spearman(a, a), torch.ones(4))
    assert torch.allclose(M.spearman(a, -a), torch.ones(4))  # on |A|
    assert torch.allclose(M.spearman(a, 1 / (a + 0.1)), -torch.ones(4), atol=1e-6)
    assert torch.allclose(M.ssim(a, 3 * a), torch.ones(4), atol=1e-4)  # scale-free
    assert (M.ssim(a, torch.rand(4, 1, 16, 16)) < 0.5).all()
    flat, peak = torch.ones(1, 1, 8, 8), torch.zeros(1, 1, 8, 8)
    peak[0, 0, 3, 3] = 1
    assert M.gini(flat).abs().item() < 1e-6
    assert abs(M.gini(peak).item() - 63 / 64) < 1e-6


def test_mask_mass_and_interior_edge_ratio():
    mask = torch.zeros(2, 9, 9, dtype=torch.bool)
    mask[:, 2:7, 2:7] = True
    a = torch.zeros(2, 1, 9, 9)
    a[0, 0][mask[0]] = 1.0  # whole object
    a[1, 0][mask[1]] = 1.0
    a[1, 0, 3:6, 3:6] = 0.0  # edges only
    assert torch.allclose(M.mask_mass(a, mask), torch.ones(2))
    r = M.interior_edge_ratio(a, mask)
    assert abs(r[0].item() - 1.0) < 1e-6 and r[1].item() == 0.0


def test_cascading_randomisation_is_top_down_and_norm_preserving():
    torch.manual_seed(0)
    model = SmallCNN(1, 10, 12, width=4, hidden=8)
    names = [n for n, _ in cascade_layers(model)]
    assert names[0] == "head" and names[-1] == "body.0"
    assert layer_labels(model) == ["Output", "FC1", "CNN4", "CNN3", "CNN2", "CNN1"]
    r = randomised_copy(model, 2, seed=1)
    orig, new = dict(model.named_parameters()), dict(r.named_parameters())
    for name, p in orig.items():
        changed = not torch.equal(p, new[name])
        assert changed == (name.split(".weight")[0].split(".bias")[0] in names[:2]), name
        assert torch.allclose(p.norm(), new[name].norm(), rtol=1e-5)
    with pytest.raises(ValueError):
        randomised_copy(model, 7)


def test_networks_shapes_and_identity_start():
    g = Generator(3, 5, dim=4, n_res=1)
    x = torch.rand(2, 3, 28, 28) * 1.8 - 0.9
    y = g(x, torch.tensor([0, 4]))
    assert y.shape == x.shape
    assert torch.allclose(y, x, atol=1e-4)  # residual generator starts at the identity
    with pytest.raises(ValueError, match="divisible by 4"):
        g(torch.zeros(1, 3, 30, 30), 0)
    src, cls = Critic(3, 28, dim=4, n_classes=5)(x)
    assert src.shape == (2,) and cls.shape == (2, 5)
    assert Critic(1, 32, dim=4)(torch.zeros(3, 1, 32, 32))[1] is None


def test_conditional_critic_starts_unconditional_and_then_scores_the_claimed_class():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    plain, cond = Critic(1, 28, dim=4), Critic(1, 28, dim=4, conditional=3)
    cond.load_state_dict({**cond.state_dict(), **plain.state_dict()})
    a, b = torch.tensor([0, 1, 2, 0]), torch.tensor([2, 2, 1, 1])
    # zero-initialised class embedding: at the start the class changes nothing
    assert torch.allclose(cond(x, a)[0], plain(x)[0]) and torch.allclose(cond(x, b)[0], plain(x)[0])
    with torch.no_grad():
        cond.embed.weight.normal_()
    assert not torch.allclose(cond(x, a)[0], cond(x, b)[0])  # the same images, other claimed classes
    with pytest.raises(ValueError, match="critic\\(images, classes\\)"):
        cond(x)


def test_images_of_class_draws_only_the_requested_class_and_all_of_it():
    from genxai.ganmex.gan import images_of_class

    labels = torch.tensor([2, 0, 1, 2, 0, 2, 1, 0, 2])
    classes = torch.tensor([0, 2, 1] * 400)
    idx = images_of_class(labels, classes, torch.Generator().manual_seed(0))
    assert torch.equal(labels[idx], classes)
    for c in range(3):  # uniform over the class's images: every one is drawn
        assert set(idx[classes == c].tolist()) == set((labels == c).nonzero().flatten().tolist())
    again = images_of_class(labels, classes, torch.Generator().manual_seed(0))
    assert torch.equal(idx, again)
    with pytest.raises(ValueError, match="no training images of class"):
        images_of_class(torch.tensor([0, 0, 1]), torch.tensor([2]), torch.Generator())


def test_change_outside_over_inside_on_a_toy_image_with_a_known_answer():
    x = torch.zeros(2, 3, 4, 4)
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[:, 1:3, 1:3] = True  # 4 object pixels, 12 scene pixels per image
    b = x.clone()
    b[:, :, 1:3, 1:3] = 1.0  # the object changes by 1 everywhere
    b[:, 0, 0, :] = 0.6  # the top scene row by 0.6 in one of three channels: mean change 0.2 on 4 of 12 pixels
    assert M.change_outside_over_inside(x, b, mask) == pytest.approx((0.2 * 4 / 12) / 1.0)
    assert M.change_outside_over_inside(x, torch.where(mask[:, None], b, x), mask) == 0.0  # object-only edit
    with pytest.raises(ValueError, match="inside and outside"):
        M.change_outside_over_inside(x, b, torch.ones(2, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        M.change_outside_over_inside(x, b, mask[0])
