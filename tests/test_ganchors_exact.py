"""Reuse that keeps each anchor's distribution: a toy generator whose anchor precision is known in closed form.

ToyGenerator paints the left half of a 28x28 image tanh(z_0) and the right half tanh(z_1); the toy classifier
calls an image class 1 when its right half is bright.  The explained image x = G(-1, 2) is class 1.  Under the
anchor {left}, Eq. 8 constrains z_0 only, z_1 stays a prior draw, so the precision is P(tanh(z_1) > 0) = 0.5
exactly; under {right}, every sample keeps x's right half and the precision is 1.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genxai.ganchors import AnchorImage, BatchNormTrainSampler, SearchConfig
from genxai.ganchors.experiments import add_anchor_stats, fastest_valid, judge_report, per_image_ratios
from genxai.ganchors.explain import independent_precision
from genxai.ganchors.segmentation import Segmentation

LEFT = np.zeros((28, 28), dtype=np.int64)
LEFT[:, 14:] = 1  # superpixel 0: left half, 1: right half


class ToyGenerator(nn.Module):
    nz = 2

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))  # samplers read the device from a parameter

    def forward(self, z):
        z = z.flatten(1)
        left = torch.tanh(self.scale * z[:, 0])[:, None, None, None].expand(-1, 1, 28, 14)
        right = torch.tanh(self.scale * z[:, 1])[:, None, None, None].expand(-1, 1, 28, 14)
        return torch.cat([left, right], 3).contiguous()


class RightHalfClassifier(nn.Module):
    def forward(self, x):
        m = x[:, 0, :, 14:].mean((1, 2))
        return torch.stack([-m, m], 1) * 10


@pytest.fixture()
def toy():
    G = ToyGenerator()
    with torch.no_grad():
        x = G(torch.tensor([[-1.0, 2.0]]))[0]
    return G, x


def exact(G, **kw):
    args = dict(xi=0.01, n_latents=16, lr=0.3, reuse=True, pool_init=64, min_latents=4, pool_scope="own")
    return BatchNormTrainSampler(G, **{**args, **kw})


def test_exact_sampler_has_the_analytic_precision(toy):
    """Anchor {left}: the share of class-1 samples is P(z_1 > 0) = 0.5, even after the pool has been filled
    with images optimised for {right} (which all keep class 1 and would inflate it if served)."""
    G, x = toy
    clf = RightHalfClassifier()
    torch.manual_seed(0)
    s = exact(G, warm=0.25, warm_from="prior").bind(x, LEFT)
    s.sample([1], 2000)  # fills the pool with right-matched images, some of which also meet the left constraint
    imgs, _ = s.sample([0], 400)
    share = float((clf(imgs).argmax(1) == 1).float().mean())
    assert abs(share - 0.5) < 0.08, share  # 4 standard errors of a 400-sample mean
    # the biased pool (scope "all") serves those right-matched images to {left} and drifts upwards
    torch.manual_seed(0)
    b = exact(G, pool_scope="all").bind(x, LEFT)
    b.sample([1], 2000)
    imgs_b, _ = b.sample([0], 100)
    assert b.stats.reused > 50
    assert float((clf(imgs_b).argmax(1) == 1).float().mean()) > 0.8


def test_own_scope_serves_only_prior_draws_and_the_anchors_own_latents(toy):
    G, x = toy
    torch.manual_seed(1)
    s = exact(G, xi=0.05).bind(x, LEFT)
    s.sample([1], 50)
    s.sample([0], 50)
    served = s.pool.used[(0,)]
    origins = {s.pool.origin[i] for i in torch.nonzero(served).flatten().tolist()}
    assert origins <= {(), (0,)} and (1,) in set(s.pool.origin)


def test_prior_warm_starts_never_start_from_accepted_latents(toy):
    G, x = toy
    torch.manual_seed(2)
    s = exact(G, warm=0.0, warm_from="prior").bind(x, LEFT)
    prior = s.pool.latents.clone()
    s.sample([0], 30)
    s._warm_key = (0,)
    z = s.init_latents(5)
    # warm 0: each start is one of the prior draws, never an accepted latent, and never the same one twice
    d = torch.cdist(z, prior)
    assert (d.min(1).values < 1e-6).all()
    assert len(set(d.argmin(1).tolist())) == 5
    used = s._warm_used[(0,)]
    assert not used[len(prior) :].any()  # only prior draws are ever marked as used starts
    with pytest.raises(ValueError, match="warm_from"):
        exact(G, warm_from="accepted")
    with pytest.raises(ValueError, match="pool_scope"):
        exact(G, pool_scope="mine")


def test_search_estimate_agrees_with_the_referee(toy):
    """The search with the exact sampler returns {right} (precision 1); its estimate and a fresh-sample referee
    agree within 0.05, and the referee gives {left} its analytic 0.5."""
    G, x = toy
    clf = RightHalfClassifier()
    torch.manual_seed(3)
    s = exact(G, warm=0.25, warm_from="prior")
    explainer = AnchorImage(clf, s, lambda img: Segmentation(LEFT, 2, 2, None), SearchConfig(batch_size=20))
    exp = explainer.explain(x)
    assert exp.target == 1 and exp.features == [1]
    referee = BatchNormTrainSampler(G, xi=0.01, n_latents=16, lr=0.3)
    ref = independent_precision(clf, referee, x, LEFT, exp.features, 1, n=100)
    assert abs(exp.result.precision - ref) <= 0.05
    ref_left = independent_precision(clf, referee, x, LEFT, [0], 1, n=400)
    assert abs(ref_left - 0.5) < 0.08


def test_anchor_stats_and_fastest_valid_pick_the_fastest_sampler_that_holds():
    import pandas as pd

    df = pd.DataFrame(
        dict(
            method=["random_stitching"] * 2 + ["fast"] * 2 + ["slow"] * 2,
            image=[0, 1] * 3,
            trial=[0] * 6,
            minutes=[1.0, 2.0, 2.0, 2.0, 6.0, 10.0],
            precision=[1.0, 1.0, 0.99, 1.0, 0.97, 0.98],
            referee_precision=[1.0, 1.0, 0.70, 0.99, 0.96, 0.97],
        )
    )
    r = per_image_ratios(df)
    assert r[r.method == "slow"].ratio.tolist() == [6.0, 5.0]
    t1 = df.groupby("method", sort=False).minutes.mean().reset_index()
    t2 = df.groupby("method", sort=False).precision.mean().reset_index()
    t1, t2 = add_anchor_stats(t1, t2, df)
    t1i, t2i = t1.set_index("method"), t2.set_index("method")
    assert t1i.median_ratio_to_stitching["fast"] == 1.5 and t1i.median_ratio_to_stitching["slow"] == 5.5
    assert t2i.min_referee_precision["fast"] == pytest.approx(0.70)
    assert t2i.max_gap["fast"] == pytest.approx(0.29)
    assert fastest_valid(t1, t2, ["fast", "slow"]) == ("slow", True)
    # when no candidate holds on every anchor, the one whose worst anchor comes closest, flagged
    df.loc[df.method == "slow", "referee_precision"] = [0.80, 0.97]
    t1, t2 = add_anchor_stats(t1, t2, df)
    assert fastest_valid(t1, t2, ["fast", "slow"]) == ("slow", False)
    with pytest.raises(ValueError, match="candidates"):
        fastest_valid(t1, t2, ["absent"])


def test_judge_report_agreement_and_floor(toy):
    """A judge identical to the classifier agrees on every perturbation; a judge that always says class 0
    agrees exactly where the classifier says 0."""
    G, x = toy
    clf = RightHalfClassifier()

    class Const(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 2)

        def features(self, z):
            return z.flatten(1)[:, :4] + 0.01 * torch.arange(4.0)

        def forward(self, z):
            return torch.tensor([[5.0, -5.0]]).expand(len(z), -1)

    class SameAsClf(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 2)

        def features(self, z):
            return torch.stack([z.flatten(1).mean(1), z[:, 0, :, 14:].mean((1, 2))], 1)

        def forward(self, z):
            return clf(z)

    torch.manual_seed(4)
    s = {"toy": exact(G, warm=None)}
    exp = AnchorImage(clf, s["toy"], lambda img: Segmentation(LEFT, 2, 2, None), SearchConfig(batch_size=20))
    kept = [("toy", 0, exp.explain(x))]
    real = torch.cat([G(torch.tensor([[a, b]])) for a in np.linspace(-2, 2, 8) for b in (-1.0, 1.0, 2.0)]).detach()
    labels = (real[:, 0, :, 14:].mean((1, 2)) > 0).long()
    same = judge_report(clf, SameAsClf(), s, x[None], kept, real, labels, per_anchor=6)
    assert same.judge_agreement.iloc[0] == 1.0 and same.samples.iloc[0] == 6
    assert np.isfinite(same.judge_fd.iloc[0]) and np.isfinite(same.judge_fd_floor.iloc[0])
    const = judge_report(clf, Const(), s, x[None], kept, real, labels, per_anchor=6)
    assert const.judge_agreement.iloc[0] == pytest.approx(1 - const.classifier_keeps_class.iloc[0])
