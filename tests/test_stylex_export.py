"""StylEx animations and their study export."""

from __future__ import annotations

import json

import pytest
import torch

from genxai.stylex import attfind as af
from genxai.stylex.export import attribute_animations, export_study
from genxai.stylex.model import PairClassifierConfig, StylExConfig

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    m = StylExConfig(classifier=PairClassifierConfig(width=4, size=16), capacity=1, fmap_max=8, latent_dim=8).build()
    return m.eval(), af.style_codes(m, torch.rand(3, 1, 16, 16) * 2 - 1)


def test_animations_start_at_the_image_and_end_at_the_full_shift(setup):
    model, codes = setup
    anims = attribute_animations(model, codes, [(1, 5), (0, 2)], [0, 2], shift_size=2.0, steps=4)
    assert [(a.attribute, a.image) for a in anims] == [("d1_s5", "0"), ("d1_s5", "2"), ("d0_s2", "0"), ("d0_s2", "2")]
    first = anims[1]
    assert first.frames.shape == (6, 1, 16, 16) and len(first.durations) == 6
    base = af.images_of(model, codes, codes.flat)[2].clamp(-1, 1)
    assert torch.allclose(first.frames[0], base, atol=1e-5)
    shifted = af.shift_toward(codes, {0: [(1, 5)], 1: [(1, 5)]}, 1, shift_size=2.0)
    assert torch.allclose(first.frames[3], af.images_of(model, codes, shifted)[2].clamp(-1, 1), atol=1e-5)
    assert first.cls == int(codes.predicted[2])
    with pytest.raises(IndexError, match="out of range"):
        attribute_animations(model, codes, [(1, 5)], [3])


def test_export_writes_gifs_and_a_spec_the_study_app_reads(setup, tmp_path):
    model, codes = setup
    names = ["Sneaker", "Ankle boot"]
    anims = attribute_animations(model, codes, [(1, 5), (0, 3)], [0, 1, 2], steps=3, class_names=names)
    spec = json.loads(export_study(tmp_path, anims).read_text())
    assert [(i["attribute"], i["image"], i["shift"]) for i in spec["items"][:4]] == [
        ("d1_s5", "0", 1.0),
        ("d1_s5", "1", 1.0),
        ("d1_s5", "2", 1.0),
        ("d0_s3", "0", 1.0),
    ]
    assert {i["class"] for i in spec["items"]} <= {"Sneaker", "Ankle boot"}
    assert all((tmp_path / i["gif"]).stat().st_size > 0 for i in spec["items"])


def test_counterfactual_figure_shows_original_reconstruction_and_two_attributes(setup):
    import matplotlib

    matplotlib.use("Agg")
    from genxai.stylex.export import counterfactual_figure, single_attribute_images

    model, codes = setup
    toward = {0: [(1, 4), (0, 9)], 1: [(0, 7), (1, 1)]}
    second = single_attribute_images(model, codes, toward, 1, shift_size=2.0)
    only_second = {0: [(0, 9)], 1: [(1, 1)]}
    expected = af.images_of(model, codes, af.shift_toward(codes, only_second, 1, 2.0)).clamp(-1, 1)
    assert torch.allclose(second, expected, atol=1e-6)
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    fig = counterfactual_figure(model, codes, x, toward, [0, 2], ["Sneaker", "Ankle boot"], shift_size=2.0)
    assert len(fig.axes) == 8
    assert fig.axes[0].get_title().startswith("original") and fig.axes[3].get_title().startswith("attribute #2")
    assert all("p(Ankle boot)=" in ax.get_title() for ax in fig.axes)
