"""AttFind: batched effects equal the per-coordinate loop; greedy selection; variants; sufficiency."""

from __future__ import annotations

import pytest
import torch

from genxai.stylex import attfind as af
from genxai.stylex.model import PairClassifierConfig, StylExConfig

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    clf = PairClassifierConfig(width=4, size=16)
    m = StylExConfig(classifier=clf, capacity=1, fmap_max=8, latent_dim=8, mapping_depth=2).build().eval()
    with torch.no_grad():
        for layer in m.G_ema.convs:
            layer.noise_strength.normal_()
    return m


@pytest.fixture(scope="module")
def codes(model):
    return af.style_codes(model, torch.rand(4, 1, 16, 16) * 2 - 1, seed=3)


def test_batched_effects_equal_the_loop(model, codes):
    batched = af.style_effects(model, codes, shift_size=1.5, batch=37)
    loop = af.style_effects_loop(model, codes, shift_size=1.5)
    assert batched.shape == (4, 2, model.G_ema.n_coords, 2)
    assert batched.abs().amax() > 0
    assert torch.allclose(batched, loop, atol=1e-5)
    sub = torch.tensor([3, 0, 11])
    assert torch.allclose(af.style_effects(model, codes, 1.5, coords=sub), batched[:, :, sub], atol=1e-5)
    assert af.style_effects(model, codes, shift_size=0.0).abs().amax() < 1e-5


def test_codes_span_min_and_max(codes):
    assert torch.equal(codes.s_min, codes.flat.min(0).values) and (codes.s_max >= codes.s_min).all()


def test_greedy_selection_moves_on_from_images_already_explained():
    # 3 images, S = 4 coordinates; class 0 effect
    eff = torch.zeros(3, 2, 4, 2)
    eff[:, 1, 2, 0] = torch.tensor([10.0, 10.0, 0.0])  # huge on images 0,1: picked first
    eff[:, 0, 1, 0] = torch.tensor([3.0, 3.0, 0.0])  # second-largest mean, but only on explained images
    eff[:, 1, 3, 0] = torch.tensor([0.0, 0.0, 2.0])  # what image 2 needs
    eff[:, 0, 0, 0] = -5.0  # negative effects never count
    found = af.find_significant_styles(eff, 2, class_index=0, max_image_effect=5.0)
    assert found == [(1, 2), (1, 3)]
    # without the cap the second pick is the larger-mean coordinate
    assert af.find_significant_styles(eff, 2, 0, max_image_effect=1e9) == [(1, 2), (0, 1)]
    with pytest.raises(ValueError, match="shape"):
        af.find_significant_styles(eff[:, 0], 2, 0, 1.0)


def test_official_and_repro_variants_rank_on_different_images():
    eff = torch.zeros(4, 2, 3, 2)
    predicted = torch.tensor([0, 0, 1, 1])
    eff[2:, 0, 0, 0] = 1.0  # raises logit 0 on class-1 images
    eff[:2, 1, 1, 0] = 1.0  # raises logit 0 on class-0 images
    eff[:2, 0, 2, 1] = 1.0  # raises logit 1 on class-0 images
    eff[2:, 1, 2, 1] = 1.0  # raises logit 1 on class-1 images
    official = af.attfind(eff, predicted, 1, "official")
    repro = af.attfind(eff, predicted, 1, "repro")
    assert official == {0: [(0, 0)], 1: [(0, 2)]}
    assert repro == {0: [(1, 1)], 1: [(1, 2)]}
    with pytest.raises(ValueError, match="variant"):
        af.attfind(eff, predicted, 1, "other")
    merged = af.merge_attributes(eff, official)
    assert set(merged) == {(0, 0), (1, 2)}


def test_sufficiency_equals_shifting_each_image_by_hand(model, codes):
    G = model.G_ema
    toward = {0: [(1, 4), (0, 9), (1, 2)], 1: [(0, 7), (1, 1), (0, 3)]}
    result = af.sufficiency(model, codes, toward, ks=[1, 2, 3], shift_size=4.0, batch=3)
    for j, k in enumerate([1, 2, 3]):
        flips = []
        for n in range(len(codes.flat)):
            c = int(codes.predicted[n])
            flat = codes.flat[n : n + 1].clone()
            for d, i in toward[1 - c][:k]:
                target = codes.s_min[i] if d == 0 else codes.s_max[i]
                flat[0, i] = flat[0, i] + (target - flat[0, i]) * 4.0
            styles = [*torch.split(flat, G.style_dims, 1), *[s[n : n + 1] for s in codes.styles[len(G.style_dims) :]]]
            with torch.no_grad():
                flips.append(int(model.C(G.synthesize(styles, codes.noise)).argmax(1)) != c)
        assert result["all"][j] == pytest.approx(sum(flips) / len(flips))
    assert af.sufficiency(model, codes, toward, ks=[3], shift_size=0.0)["all"] == [0.0]


def test_fid_under_perturbation_starts_at_the_reconstruction_and_a_zero_shift_keeps_it(model, codes):
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    toward = {0: [(1, 4), (0, 9)], 1: [(0, 7), (1, 1)]}
    rec = af.images_of(model, codes, codes.flat)
    assert torch.equal(af.shift_toward(codes, toward, 2, shift_size=0.0), codes.flat)
    assert not torch.equal(af.shift_toward(codes, toward, 2, shift_size=1.0), codes.flat)
    zero = af.fid_under_perturbation(model, codes, x, toward, model.C, ks=[1, 2], shift_size=0.0)
    assert zero["k"] == [0, 1, 2] and zero["fid"][0] == pytest.approx(zero["fid"][2], rel=1e-4)
    from genxai.metrics.realism import feature_fid

    assert zero["fid"][0] == pytest.approx(feature_fid(model.C, x, rec.clamp(-1, 1)), rel=1e-4)
