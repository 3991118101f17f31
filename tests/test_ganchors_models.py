"""The authors' DCGAN shapes, the explainer's captum-style API and the protocol tables."""

from __future__ import annotations

import torch

from genxai.anchors import AnchorImage, Discriminator, Generator, RandomStitching, SearchConfig, quickshift_k
from genxai.anchors.experiment import make_samplers, run_protocol, summarize
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
    seg = lambda x: quickshift_k(x, 6, max_iter=8)  # noqa: E731
    masks = AnchorImage(clf, RandomStitching(-torch.ones(3, 1, 28, 28)), seg, cfg).attribute(images)
    assert masks.shape == (2, 1, 28, 28) and set(masks.unique().tolist()) <= {0.0, 1.0}
    samplers = make_samplers(Generator(nz=8, ngf=4).eval(), None, -torch.ones(3, 1, 28, 28), xi=0.5,
                             n_latents=8, max_steps=5)
    df = run_protocol(clf, samplers, images[:1], 1, cfg, segments=6, n_independent=10)
    t1, t2 = summarize(df)
    assert list(t1.method) == ["random_stitching", "batch", "batch_bn", "batch_bn_reuse"]
    assert float(t1.ratio_to_stitching.iloc[0]) == 1.0
    assert ((t2.independent_precision >= 0) & (t2.independent_precision <= 1)).all()
    assert (t2.over_xi[t2.method == "random_stitching"] == 0).all()
