"""The authors' DCGAN shapes, the explainer's captum-style API and the protocol tables."""

from __future__ import annotations

import torch

from genxai.ganchors import AnchorImage, Discriminator, Generator, RandomStitching, SearchConfig, quickshift_k
from genxai.ganchors.experiments import make_samplers, run_protocol, summarize
from genxai.models import SmallCNN


def test_dcgan_shapes_and_range():
    G, D = Generator(nz=100, ngf=8).eval(), Discriminator(ndf=8)
    x = G(torch.randn(3, 100))
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert D(x).shape == (3,)


def test_attribute_returns_binary_masks_and_protocol_tables():
    torch.manual_seed(0)
    clf = SmallCNN(width=4).eval()
    images = torch.rand(2, 1, 28, 28) * 2 - 1
    cfg = SearchConfig(batch_size=10, coverage_samples=30, max_anchor_size=2)
    seg = lambda x: quickshift_k(x, 6, max_iter=8)
    masks = AnchorImage(clf, RandomStitching(-torch.ones(3, 1, 28, 28)), seg, cfg).attribute(images)
    assert masks.shape == (2, 1, 28, 28) and set(masks.unique().tolist()) <= {0.0, 1.0}
    samplers = make_samplers(
        Generator(nz=8, ngf=4).eval(), None, -torch.ones(3, 1, 28, 28), xi=0.5, n_latents=8, max_steps=5
    )
    df = run_protocol(clf, samplers, images[:1], 1, cfg, segments=6, n_independent=10)
    t1, t2 = summarize(df)
    assert list(t1.method) == ["random_stitching", "batch", "batch_bn", "batch_bn_reuse"]
    assert float(t1.ratio_to_stitching.iloc[0]) == 1.0
    assert ((t2.independent_precision >= 0) & (t2.independent_precision <= 1)).all()
    assert (t2.over_xi[t2.method == "random_stitching"] == 0).all()
    assert "step_cap" not in t1  # only stated when the samplers are given


def test_paper_rows_step_cap_applies_to_the_papers_rows_only():
    from genxai.ganchors import DiverseEncoder

    G = Generator(nz=8, ngf=4).eval()
    samplers = make_samplers(
        G, DiverseEncoder(nz=8), -torch.ones(3, 1, 28, 28), xi=0.5, n_latents=8, max_steps=50, paper_rows_max_steps=15
    )
    caps = {k: getattr(s, "max_steps", None) for k, s in samplers.items()}
    assert caps == {
        "random_stitching": None,
        "batch": 15,
        "batch_bn": 15,
        "encoder": 15,
        "batch_bn_reuse": 50,
        "encoder_reuse": 50,
    }
    same = make_samplers(G, None, -torch.ones(3, 1, 28, 28), xi=0.5, n_latents=8, max_steps=7)
    assert {getattr(s, "max_steps", None) for k, s in same.items() if k != "random_stitching"} == {7}
    import pandas as pd

    df = pd.DataFrame(
        {
            "method": ["random_stitching", "batch", "batch_bn_reuse"],
            "minutes": [1.0, 4.0, 2.0],
            "image": [0, 0, 0],
            "precision": 1.0,
            "independent_precision": 1.0,
            "size": 1,
            "coverage": 0.5,
            "found": True,
            "over_xi": 0.0,
        }
    )
    t1, _ = summarize(df, samplers=samplers)
    assert t1.step_cap.tolist()[1:] == [15, 50] and pd.isna(t1.step_cap.iloc[0])


def test_referee_precision_column_counts_its_fill_ins():
    """Every row's anchors are graded on one referee sampler (the paper's Alg. 3, BN train): uncapped,
    all its samples meet xi (referee_over_xi 0); with a zero step cap all are fill-ins (1)."""
    from genxai.ganchors.experiments import make_referee

    torch.manual_seed(0)
    clf = SmallCNN(width=4).eval()
    images = torch.rand(1, 1, 28, 28) * 2 - 1
    cfg = SearchConfig(batch_size=10, coverage_samples=30, max_anchor_size=2)
    G = Generator(nz=8, ngf=4).eval()
    samplers = {"random_stitching": RandomStitching(-torch.ones(3, 1, 28, 28))}
    for cap, over in ((None, 0.0), (0, 1.0)):
        referee = make_referee(G, xi=0.5, n_latents=8, max_steps=cap)
        df = run_protocol(clf, samplers, images, 1, cfg, segments=6, n_independent=10, referee=referee, n_referee=12)
        assert df.referee_over_xi.tolist() == [over]
        assert 0 <= df.referee_precision.iloc[0] <= 1
        assert referee.stats.accepted + referee.stats.over_threshold == 12
        _, t2 = summarize(df)
        assert {"referee_precision", "referee_over_xi"} <= set(t2.columns)
    _, t2 = summarize(df.drop(columns=["referee_precision", "referee_over_xi"]))
    assert "referee_precision" not in t2  # only when a referee was given


def test_protocol_and_realism_do_not_depend_on_what_ran_before():
    """Each explanation is seeded by (seed, image, trial) and each realism score by (seed, method): drawing
    from torch's RNG and from random stitching's own generator in between changes neither."""
    from genxai.ganchors.experiments import realism

    torch.manual_seed(0)
    clf = SmallCNN(width=4).eval()
    images = torch.rand(1, 1, 28, 28) * 2 - 1
    real = torch.rand(16, 1, 28, 28) * 2 - 1
    cfg = SearchConfig(batch_size=10, coverage_samples=30, max_anchor_size=2)
    samplers = make_samplers(
        Generator(nz=8, ngf=4).eval(),
        None,
        torch.rand(5, 1, 28, 28) * 2 - 1,
        xi=0.5,
        n_latents=8,
        max_steps=5,
        pool_init=16,
    )
    samplers = {k: samplers[k] for k in ("random_stitching", "batch_bn_reuse")}
    runs = []
    for _ in range(2):
        kept: list = []
        df = run_protocol(clf, samplers, images, 1, cfg, segments=6, n_independent=10, keep=kept)
        runs.append(
            (
                df[["method", "features", "precision", "independent_precision"]],
                realism(clf, real, samplers, images, kept, 4),
            )
        )
        torch.rand(1000)  # other work between the two runs
        samplers["random_stitching"].sample([0], 7)  # ... and the stitching generator moved on
    (df0, fid0), (df1, fid1) = runs
    assert df0.equals(df1)
    assert fid0 == fid1 and set(fid0) == {"random_stitching", "batch_bn_reuse"}


def _dataset_job():
    from genxai.ganchors import DiverseEncoder
    from genxai.models.judges import JudgeNet

    torch.manual_seed(0)
    models = dict(
        clf=SmallCNN(width=4).eval(),
        G=Generator(nz=8, ngf=4).eval(),
        enc=DiverseEncoder(nz=8).eval(),
        judge=JudgeNet(width=4).eval(),
    )
    params = dict(
        n_images=1,
        xi=0.5,
        n_latents=8,
        restart_steps=20,
        max_steps=5,
        paper_rows_max_steps=3,
        exact_warm=0.25,
        trials=1,
        search=dict(batch_size=10, coverage_samples=30, max_anchor_size=2),
        segments=6,
        n_independent=10,
        paper_rows_images=0,
        capped_rows=["batch", "batch_bn", "encoder", "encoder_reuse"],
        n_referee=10,
        referee_max_steps=5,
        fastest_candidates=["batch_bn_reuse", "batch_bn_exact"],
        realism_per_anchor=4,
    )
    return models, params


def test_explain_datasets_in_workers_equals_in_process():
    """The data sets explained side by side in worker processes give the rows of the in-process run (same seeded
    draws at the same thread count): only the timings may differ."""
    from genxai.ganchors.experiments import explain_dataset, explain_datasets

    models, params = _dataset_job()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = explain_dataset("mnist", models, params, seed=3)
        there = explain_datasets({"mnist": (models, params), "fashion_mnist": (models, params)}, seed=3, workers=2)
    finally:
        torch.set_num_threads(threads)
    assert set(there) == {"mnist", "fashion_mnist"}
    cols = ["method", "image", "target", "precision", "independent_precision", "referee_precision", "size"]
    assert here["df"][cols].equals(there["mnist"]["df"][cols])
    # every sampler that the capped rows leave out ran; the paper rows ran on no image (paper_rows_images 0)
    assert set(here["df"].method) == {"random_stitching", "random_stitching_p05", "batch_bn_reuse", "batch_bn_exact"}
    assert here["pick"].tolist() == there["mnist"]["pick"].tolist()
    assert [k[:2] for k in here["kept"]] == [k[:2] for k in there["mnist"]["kept"]]
    assert here["best"] in params["fastest_candidates"] and "judge_agreement" in here["t2"]
    assert there["fashion_mnist"]["df"].method.tolist() == here["df"].method.tolist()


def test_explain_datasets_rejects_no_workers():
    import pytest

    from genxai.ganchors.experiments import explain_datasets

    models, params = _dataset_job()
    with pytest.raises(ValueError, match="workers must be >= 1"):
        explain_datasets({"mnist": (models, params)}, workers=0)


def test_protocol_runs_each_images_samplers_back_to_back():
    """Per-image time ratios compare samplers timed next to each other: the jobs run image by image (every
    sampler on image 0, then on image 1), while the table still lists each sampler's rows together."""
    log = []

    class Logged(RandomStitching):
        def __init__(self, tag, *a, **k):
            super().__init__(*a, **k)
            self.tag = tag

        def bind(self, image, segments):
            log.append((self.tag, float(image.sum())))
            return super().bind(image, segments)

    torch.manual_seed(0)
    clf = SmallCNN(width=4).eval()
    images = torch.rand(2, 1, 28, 28) * 2 - 1
    bg = -torch.ones(3, 1, 28, 28)
    samplers = {"a": Logged("a", bg), "b": Logged("b", bg, p_replace=0.5)}
    cfg = SearchConfig(batch_size=10, coverage_samples=30, max_anchor_size=1)
    df = run_protocol(clf, samplers, images, 1, cfg, segments=6, n_independent=5)
    firsts = [entry for k, entry in enumerate(log) if k == 0 or log[k - 1] != entry]  # explain + precision binds
    x0, x1 = float(images[0].sum()), float(images[1].sum())
    assert firsts == [("a", x0), ("b", x0), ("a", x1), ("b", x1)]
    assert df.method.tolist() == ["a", "a", "b", "b"] and df.image.tolist() == [0, 1, 0, 1]


def test_rows_with_the_same_anchor_share_one_referee_grade():
    """Two samplers that find the same anchor of the same image are graded once, on draws seeded by the anchor:
    same referee precision, and the referee drew n_referee samples for the pair, not twice as many."""
    from genxai.ganchors.experiments import make_referee

    torch.manual_seed(0)
    clf = SmallCNN(width=4).eval()
    images = torch.rand(1, 1, 28, 28) * 2 - 1
    bg = torch.rand(4, 1, 28, 28) * 2 - 1
    cfg = SearchConfig(batch_size=10, coverage_samples=30, max_anchor_size=2)
    samplers = {"one": RandomStitching(bg, seed=1), "twin": RandomStitching(bg, seed=1)}
    G = Generator(nz=8, ngf=4).eval()
    referee = make_referee(G, xi=0.5, n_latents=8, max_steps=3)
    df = run_protocol(clf, samplers, images, 1, cfg, segments=6, n_independent=5, referee=referee, n_referee=12)
    assert df.features.iloc[0] == df.features.iloc[1]  # same seeds: the twins find the same anchor
    assert df.referee_precision.nunique() == 1 and df.referee_over_xi.nunique() == 1
    assert referee.stats.accepted + referee.stats.over_threshold == 12
    # graded again from scratch, the anchor gets the same grade: it depends on (seed, image, trial, anchor) only
    again = run_protocol(
        clf,
        {"twin": samplers["twin"]},
        images,
        1,
        cfg,
        segments=6,
        n_independent=5,
        referee=make_referee(G, xi=0.5, n_latents=8, max_steps=3),
        n_referee=12,
    )
    assert again.referee_precision.iloc[0] == df.referee_precision.iloc[0]
    # and the same share of its draws hit the step cap: a share that depends on the draws
    assert again.referee_over_xi.iloc[0] == df.referee_over_xi.iloc[0] and 0 < df.referee_over_xi.iloc[0] < 1
