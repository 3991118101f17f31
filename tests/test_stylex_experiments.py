"""Notebook helpers of StylEx (genxai.stylex.experiments) and its figures, on a tiny untrained model."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from genxai.data.base import ImageSet
from genxai.study.items import load_spec
from genxai.stylex import attfind as af
from genxai.stylex import experiments as E
from genxai.stylex import plots
from genxai.stylex.model import PairClassifierConfig, StylExConfig

torch.set_num_threads(1)
NAMES = ["Sneaker", "Ankle boot"]


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = StylExConfig(classifier=PairClassifierConfig(width=4, size=16), capacity=1, fmap_max=8, latent_dim=8)
    model = model.build().eval()
    x = torch.rand(12, 1, 16, 16) * 2 - 1
    x[::2] = x[::2] * 0.2 - 0.8  # dark half
    # an untrained classifier may call every image one class: centre its logit difference on these images
    for _ in range(3):
        logits = af.style_codes(model, x).logits
        model.C = Centred(model.C, (logits[:, 1] - logits[:, 0]).median())
    codes = af.style_codes(model, x)
    return model, codes, x


class Centred(nn.Module):
    def __init__(self, inner, shift):
        super().__init__()
        self.inner, self.shift = inner, float(shift)

    def forward(self, x):
        return self.inner(x) - torch.tensor([0.0, self.shift])


class Brightness(nn.Module):
    """A judge stand-in: logits (-mean, +mean), so bright images are class 1; ``img_size`` 8 checks the resize."""

    in_channels, img_size = 1, 8

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.seen = None

    def features(self, x):
        self.seen = x.shape[-1]
        return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3))], 1) * self.w

    def forward(self, x):
        self.seen = x.shape[-1]
        m = x.mean((1, 2, 3))[:, None] * self.w
        return torch.cat([-m, m, 0 * m], 1)


def test_study_paths_follow_genxai_paths_and_name_the_fix(tmp_genxai):
    folder = E.study_items_dir("cpu")
    assert folder == tmp_genxai / "results" / "stylex" / "study_items"
    assert E.study_items_dir("smoke") == tmp_genxai / "results" / "smoke" / "stylex" / "study_items"
    assert not folder.exists(), "asking for the folder must not create it"
    with pytest.raises(FileNotFoundError, match="genxai reproduce --paper stylex --notebook 01 --profile cpu"):
        E.require_study_items("cpu")
    with pytest.raises(FileNotFoundError, match="--notebook 01 --profile smoke"):
        E.load_attributes("smoke")


def test_attributes_round_trip(setup, tmp_genxai):
    model, codes, x = setup
    effect = af.style_effects(model, codes)
    toward = af.attfind(effect, codes.predicted, num_indices=3)
    found = E.AttFindResult(codes, effect, toward, af.merge_attributes(effect, toward), 0.1)
    record = E.attributes_record(found, NAMES, torch.arange(12) + 100, 2.0, "official")
    path = E.attributes_path("cpu")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    back = E.load_attributes("cpu")
    assert back["toward"] == toward and back["merged"] == found.merged
    assert back["image_indices"][:2] == [100, 101] and back["shift_size"] == 2.0


def test_balanced_test_alternates_classes_and_caps_at_the_smaller_class():
    labels = torch.tensor([0] * 30 + [1] * 5)  # sorted, as the pair's test split is
    images = torch.linspace(-1, 1, 35)[:, None, None, None].expand(35, 1, 4, 4).contiguous()

    class Cfg:
        def data(self, split):
            assert split == "test"
            return ImageSet(images, labels, tuple(NAMES), "pair", "test", "synthetic")

    sample, idx = E.balanced_test(Cfg(), n_per_class=8, seed=3)
    assert len(sample) == 10 and sample.labels.tolist() == [0, 1] * 5
    assert torch.equal(labels[idx], sample.labels)
    again, idx2 = E.balanced_test(Cfg(), n_per_class=8, seed=3)
    assert torch.equal(idx, idx2)
    other, idx3 = E.balanced_test(Cfg(), n_per_class=8, seed=4)
    assert not torch.equal(idx[::2], idx3[::2]), "another seed draws other class-0 images"


def test_judge_view_resizes_and_keeps_the_pair(setup):
    judge = Brightness()
    view = E.JudgeAt(judge, classes=(2, 1), img_size=16)
    out = view(torch.ones(3, 1, 16, 16))
    assert judge.seen == 8 and out.shape == (3, 2)
    assert torch.equal(out[:, 0], torch.zeros(3)) and torch.equal(out[:, 1], torch.ones(3))
    assert view.features(torch.ones(2, 1, 16, 16)).shape == (2, 2)


def test_reconstruction_table_counts_kept_decisions(setup):
    model, codes, x = setup
    labels = torch.tensor([0, 1] * 6)
    table, recs = E.reconstruction_table(model, x, labels, NAMES, judge=E.JudgeAt(Brightness(), (0, 1), 16))
    kept = E.predict(model.C, x).argmax(1) == E.predict(model.C, recs).argmax(1)
    row = table.set_index("class")
    assert row.loc["all", "decision_kept"] == pytest.approx(kept.float().mean().item())
    assert row.loc["Sneaker", "decision_kept"] == pytest.approx(kept[labels == 0].float().mean().item())
    assert list(row.n) == [6, 6, 12] and "judge_decision_kept" in row
    assert recs.shape == x.shape


def test_sufficiency_table_matches_the_library(setup):
    model, codes, _ = setup
    effect = af.style_effects(model, codes)
    toward = af.attfind(effect, codes.predicted, num_indices=4)
    table = E.sufficiency_table(model, codes, toward, NAMES, ks=range(1, 5), shift_sizes=(1.0, 2.0))
    for s in (1.0, 2.0):
        ref = af.sufficiency(model, codes, toward, ks=range(1, 5), shift_size=s)
        t = table[table["shift"] == s]
        assert t["all"].tolist() == pytest.approx(ref["all"])
        assert t["Sneaker"].tolist() == pytest.approx(ref["class_0"], nan_ok=True)
    judged = E.sufficiency_table(model, codes, toward, NAMES, ks=[4], judge=E.JudgeAt(Brightness(), (0, 1), 16))
    assert {"judge_agrees_on_flips", "judge_flip_vs_own_base"} <= set(judged.columns)


def test_study_export_animates_each_class_on_the_other_class(setup, tmp_path):
    model, codes, _ = setup
    pred = codes.predicted
    assert (pred == 0).sum() >= 3 and (pred == 1).sum() >= 3, "the fixture must predict both classes"
    toward = {0: [(1, 3), (0, 5), (1, 6)], 1: [(0, 3), (1, 8), (0, 2)]}  # coordinate 3 found for both classes
    spec = E.export_study_items(model, codes, toward, tmp_path, NAMES, n_attributes=2, n_images=3, steps=3, scale=2)
    items = json.loads(spec.read_text())["items"]
    attrs = list(dict.fromkeys(i["attribute"] for i in items))
    assert attrs == ["d1_s3", "d0_s5", "d1_s8", "d0_s2"], "coordinate 3 is animated once"
    for item in items:
        towards_0 = item["attribute"] in ("d1_s3", "d0_s5")
        assert item["class"] == (NAMES[1] if towards_0 else NAMES[0]), "images of the other class are animated"
    assert len(load_spec(tmp_path).items) == 12
    with pytest.raises(ValueError, match="need n_images=50"):
        E.export_study_items(model, codes, toward, tmp_path / "b", NAMES, n_attributes=1, n_images=50)


def test_attfind_speed_reports_equal_outputs(setup):
    model, codes, _ = setup
    speed = E.attfind_speed(model, codes, n_images=2, n_coords=5)
    assert speed["images"] == 2 and speed["coords"] == 5
    assert speed["max_abs_diff"] < 1e-4 and speed["loop_s"] > 0 and speed["batched_s"] > 0


def test_attribute_images_shift_only_the_other_class(setup):
    model, codes, _ = setup
    base = E.reconstructed(model, codes)
    moved = E.attribute_images(model, codes, 1, (1, 4), 2.0)
    pred = codes.predicted.cpu()
    assert torch.allclose(moved[pred == 1], base[pred == 1])
    expected = af.images_of(model, codes, af.shift_toward(codes, {1: [(1, 4)], 0: []}, 1, 2.0)).clamp(-1, 1)
    assert torch.allclose(moved, expected)


def test_figures_draw(setup):
    import pandas as pd

    model, codes, x = setup
    fig = plots.reconstruction_grid(x[:5], x[:5], torch.rand(5), torch.rand(5), "Ankle boot", per_row=4)
    assert len(fig.axes) == 16 and fig.axes[0].get_ylabel() == "original" and fig.axes[4].get_ylabel() == "reconstr."
    fig = plots.attribute_rows(x[:3], [x[:3], x[3:6]], ["a", "b"], [["p"] * 3] * 2)
    assert len(fig.axes) == 12
    suff = pd.DataFrame(
        [{"shift": s, "k": k, "all": k / 3, NAMES[0]: k / 3, NAMES[1]: k / 3} for s in (1.0, 2.0) for k in (1, 2, 3)]
    )
    fig = plots.sufficiency_curves(suff, NAMES, {"51% gender": 0.51})
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "shift size s = 1"
    fig = plots.fid_curve(pd.DataFrame([{"shift": 2.0, "k": k, "fid": float(k)} for k in range(3)]))
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == [0.0, 1.0, 2.0]
