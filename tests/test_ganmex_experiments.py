"""GANMEX evaluation protocols: judged baseline tables, class-balanced helpers and which part of a baseline works."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genxai.ganmex import experiments as E
from genxai.ganmex.baselines import make_baseline
from genxai.ganmex.networks import Generator
from genxai.models import SmallCNN, predict_logits
from genxai.models.judges import JudgeNet

torch.set_num_threads(1)


class MeanScene(nn.Module):
    """Two classes: 1 when the mean pixel is above 0, else 0 (a classifier that reads the whole scene)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        m = x.mean((1, 2, 3))
        return torch.stack([-self.scale * m, self.scale * m], 1)


def test_next_class_wraps_around():
    assert E.next_class(torch.tensor([0, 3, 9]), 10).tolist() == [1, 4, 0]


def test_held_out_excludes_exactly_the_used_indices():
    kept = E.held_out(6, torch.tensor([4, 1]))
    assert kept.tolist() == [0, 2, 3, 5]


def test_rate_per_class_counts_per_claimed_class_and_marks_absent_classes():
    model = MeanScene()
    images = torch.cat([torch.full((2, 1, 4, 4), 0.5), torch.full((2, 1, 4, 4), -0.5)])  # read as 1, 1, 0, 0
    rates = E.rate_per_class(model, images, torch.tensor([1, 0, 0, 0]), 3)
    assert rates[1] == 1.0  # the one image claiming 1 is read as 1
    assert rates[0] == pytest.approx(2 / 3)  # of three claiming 0, two are read as 0
    assert math.isnan(rates[2])


def test_edit_split_finds_the_part_of_the_baseline_that_moves_the_classifier():
    x = torch.full((3, 1, 8, 8), -1.0)  # class 0 everywhere
    mask = torch.zeros(3, 8, 8, dtype=torch.bool)
    mask[:, 3:5, 3:5] = True  # a small object
    scene_edit = torch.where(mask[:, None], x, torch.ones_like(x))  # the baseline repaints only the scene
    out = E.edit_split(MeanScene(), x, scene_edit, mask, 1)
    assert out == {"scene_only_rate": 1.0, "object_only_rate": 0.0}
    object_edit = torch.where(mask[:, None], torch.ones_like(x), x)  # repaints only the (too small) object
    assert E.edit_split(MeanScene(), x, object_edit, mask, 1) == {"scene_only_rate": 0.0, "object_only_rate": 0.0}


@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(0)
    clf = SmallCNN(in_channels=1, n_classes=4, img_size=12, width=4, hidden=16).eval()
    judge = JudgeNet(in_channels=1, n_classes=4, img_size=12, width=4, feature_dim=8).eval()
    gen = Generator(1, 4, dim=4, n_res=1, residual=False).eval()
    with torch.no_grad():
        for p in gen.parameters():
            p.add_(0.05 * torch.randn_like(p))
    train = (torch.rand(40, 1, 12, 12) * 2 - 1, torch.arange(40) % 4)
    real = (torch.rand(80, 1, 12, 12) * 2 - 1, torch.arange(80) % 4)
    y = torch.arange(8) % 4
    x = torch.rand(8, 1, 12, 12) * 2 - 1
    return clf, judge, gen, train, real, x, y


def test_judged_baseline_table_reports_both_classifiers_and_the_realism_floor(toy):
    clf, judge, gen, train, real, x, y = toy
    c_t = E.next_class(y, 4)
    t = E.judged_baseline_table(clf, judge, x, y, c_t, train, gen, *real).set_index("baseline")
    assert list(t.index) == ["mdts", "ganmex", "eg", "zero"]
    for kind in t.index:
        b = make_baseline(kind, x, c_t, train=train, generator=gen)
        assert t.target_rate[kind] == float((predict_logits(clf, b).argmax(1) == c_t).float().mean())
        assert t.judge_target_rate[kind] == float((predict_logits(judge, b).argmax(1) == c_t).float().mean())
        assert t.judge_target_rate[kind] + t.judge_source_rate[kind] <= 1.0  # c_t never equals the source
    assert t.n_fd["zero"] == 0 and math.isnan(t.judge_fd["zero"])  # one repeated image has no distribution
    assert (t.n_fd[["mdts", "ganmex", "eg"]] == len(x)).all()
    assert (t.judge_fd_floor[["mdts", "ganmex", "eg"]] >= 0).all()


def test_judged_baseline_table_with_the_classifier_as_judge_agrees_with_itself(toy):
    clf, _, gen, train, real, x, y = toy
    t = E.judged_baseline_table(clf, clf, x, y, E.next_class(y, 4), train, gen, *real, kinds=("ganmex", "zero"))
    assert (t.target_rate == t.judge_target_rate).all()
