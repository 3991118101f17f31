"""Samplers honour their threshold, keep the anchor, and segmentation gives labels 0..K-1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxai.ganchors import (
    BatchNormTrainSampler,
    BatchSampler,
    DiverseEncoder,
    EncoderSampler,
    Generator,
    RandomStitching,
    SingleLatentSampler,
    ThresholdDistributionSampler,
    anchor_loss,
    encoder_loss,
    quickshift_k,
    slic_segments,
    threshold_sample,
)
from genxai.ganchors.encoder import diversity_penalty


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    G = Generator(nz=8, ngf=4).eval()
    with torch.no_grad():
        image = G(torch.randn(1, 8))[0]  # reachable by G, so thresholds can be met
    seg = quickshift_k(image, 6, max_iter=12)
    return G, image, seg.labels


def test_quickshift_bounded_and_labels_contiguous():
    torch.manual_seed(1)
    img = torch.rand(1, 28, 28) * 2 - 1
    for k in (3, 15, 40, 1000):  # 1000 > 784 pixels is unreachable: must still return
        seg = quickshift_k(img, k, max_iter=10)
        assert seg.labels.min() == 0 and seg.labels.max() == seg.n - 1
        assert len(np.unique(seg.labels)) == seg.n
    assert quickshift_k(img, 1000, max_iter=10).n <= 784


def test_slic_rgb_labels_from_zero():
    img = torch.rand(3, 32, 32) * 2 - 1
    seg = slic_segments(img, 10, 20)
    assert seg.labels.min() == 0 and len(np.unique(seg.labels)) == seg.n == seg.labels.max() + 1


def test_random_stitching_keeps_anchor_and_uses_backgrounds(setup):
    G, image, labels = setup
    bg = -torch.ones(5, 1, 28, 28)
    s = RandomStitching(bg, seed=0).bind(image, labels)
    imgs, present = s.sample([0, 2], 200)
    A = s.mask([0, 2]).bool()
    assert torch.equal(imgs[:, 0][:, A], image[0][A].expand(200, -1))
    assert present[:, [0, 2]].all()
    # replaced superpixels hold background pixels (-1); kept ones the image
    for i in range(5):
        for f in range(s.n_features):
            m = torch.as_tensor(labels == f)
            expect = image[0][m] if present[i, f] else -torch.ones(int(m.sum()))
            assert torch.allclose(imgs[i, 0][m], expect)
    assert 0.1 < present[:, [1, 3]].mean() < 0.3  # p_replace = 0.8 for small anchors


@pytest.mark.parametrize(
    "cls,kw",
    [
        (BatchSampler, {}),
        (BatchSampler, {"threshold_dist": True}),
        (SingleLatentSampler, {}),
        (ThresholdDistributionSampler, {}),
        (BatchNormTrainSampler, {}),
    ],
)
def test_gan_samples_satisfy_threshold(setup, cls, kw):
    G, image, labels = setup
    xi = 0.05
    s = cls(G, xi=xi, n_latents=8, **kw) if cls in (BatchSampler,) else cls(G, xi=xi, **kw)
    s.bind(image, labels)
    A = s.mask([1, 3])[None, None]
    torch.manual_seed(2)
    gz, losses = s.reconstruct(A, 12)
    assert gz.shape == (12, 1, 28, 28)
    recomputed = anchor_loss(gz, image * A, A)
    assert (recomputed < xi).all() and torch.allclose(recomputed, losses, atol=1e-5)
    imgs, present = s.sample([1, 3], 5)
    Ab = A[0, 0].bool()
    assert torch.allclose(imgs[:, 0][:, Ab], image[0][Ab].expand(5, -1))  # Eq. 8 keeps x_hat exactly
    assert present[:, [1, 3]].all() and present.sum() == 10


def test_bn_sampler_does_not_mutate_cached_generator(setup):
    G, image, labels = setup
    before = {k: v.clone() for k, v in G.state_dict().items()}
    s = BatchNormTrainSampler(G, xi=0.2, n_latents=4).bind(image, labels)
    s.sample([0], 4)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert not G.training


def test_empty_anchor_gives_unconditional_samples_at_once(setup):
    G, image, labels = setup
    s = BatchSampler(G, xi=0.05, n_latents=4).bind(image, labels)
    s.sample([], 8)
    assert s.stats.steps <= 1 and s.stats.accepted == 8  # two batches of 4, no optimisation needed


def test_threshold_distribution_below_xi():
    t = threshold_sample(0.05, 5000, torch.Generator().manual_seed(0))
    assert (t > 0).all() and (t <= 0.05).all()
    assert 0.8 * 0.05 < float(t.mean()) < 0.92 * 0.05  # mean about 0.87 xi


def test_encoder_loss_and_sampler(setup):
    G, image, labels = setup
    enc = DiverseEncoder(nz=8, k=3)
    x = image[None].repeat(4, 1, 1, 1)
    A = (torch.rand(4, 1, 28, 28) < 0.5).float()
    loss, rec = encoder_loss(G, enc, x, A, lam=1.0, t=10.0)
    loss.backward()
    assert loss > rec >= 0 and enc.head.weight.grad.abs().sum() > 0
    # the cap: latents further than t apart carry no penalty
    far = torch.stack([torch.zeros(8), 20 * torch.ones(8)])[None]
    assert float(diversity_penalty(far, 10.0)) == 0.0
    assert float(diversity_penalty(torch.zeros(1, 2, 8), 10.0)) == pytest.approx(1.0)
    s = EncoderSampler(G, enc, xi=0.05, n_latents=8).bind(image, labels)
    imgs, present = s.sample([2], 6)
    gz, losses = s.reconstruct(s.mask([2])[None, None], 4)
    assert (losses < 0.05).all() and imgs.shape == (6, 1, 28, 28)


def test_step_cap_fills_and_counts_samples_over_xi(setup):
    G, image, labels = setup
    s = BatchSampler(G, xi=0.0, n_latents=4, max_steps=3).bind(image, labels)  # loss < 0 is unreachable
    imgs, present = s.sample([0, 1], 6)
    assert imgs.shape[0] == 6 and s.stats.over_threshold == 6 and s.stats.accepted == 0, s.stats


def test_pool_loss_equals_anchor_loss(setup):
    """The per-superpixel decomposition gives exactly Eq. 8's loss for every candidate anchor."""
    G, image, labels = setup
    s = BatchSampler(G, xi=0.05, n_latents=4, reuse=True, pool_init=16).bind(image, labels)
    for anchor in ([0], [1, 3], [0, 2, 4]):
        A = s.mask(anchor)[None, None]
        direct = anchor_loss(s.pool.images, image * A, A)
        assert torch.allclose(s.pool.loss(tuple(anchor)), direct, atol=1e-5)


@pytest.mark.parametrize("cls", [BatchSampler, BatchNormTrainSampler])
def test_reused_samples_satisfy_threshold_and_are_used_once_per_anchor(setup, cls):
    G, image, labels = setup
    xi = 0.05
    s = cls(G, xi=xi, n_latents=8, reuse=True, pool_init=64).bind(image, labels)
    torch.manual_seed(3)
    seen = []
    for anchor in ([1, 3], [1], [3], [1, 3], [1, 3]):
        imgs, present = s.sample(anchor, 6)
        A = s.mask(anchor)[None, None]
        # every served image, pooled or fresh, meets its anchor's constraint (Eq. 8)
        assert imgs.shape == (6, 1, 28, 28) and present[:, anchor].all()
        assert torch.allclose(imgs[:, :, A[0, 0].bool()], image[:, A[0, 0].bool()].expand(6, 1, -1))
        if anchor == [1, 3]:
            seen.append(imgs)
    assert s.stats.reused > 0  # the pool served something
    # one anchor never gets the same stored image twice
    key = (1, 3)
    assert int(s.pool.used[key].sum()) == 18
    flat = torch.cat(seen).flatten(1)
    assert len(torch.unique(flat, dim=0)) == len(flat)
    ok = s.pool.loss(key)[s.pool.used[key]] < xi
    assert ok.all()


def test_pool_serves_prior_draws_without_optimisation(setup):
    """A loose threshold is met by prior draws: no Adam step is needed (exact rejection sampling)."""
    G, image, labels = setup
    s = BatchSampler(G, xi=10.0, n_latents=4, reuse=True, pool_init=32).bind(image, labels)
    s.sample([0, 1], 20)
    assert s.stats.steps == 0 and s.stats.reused == 20


def test_warm_started_continuing_chains_keep_the_constraint(setup):
    """Warm starts from the pool and per-anchor chain continuation still serve only samples under xi."""
    G, image, labels = setup
    xi = 0.05
    with pytest.raises(ValueError, match="reuse=True"):
        BatchSampler(G, xi=xi, warm=0.5)
    s = BatchNormTrainSampler(G, xi=xi, n_latents=8, reuse=True, pool_init=32, warm=0.5).bind(image, labels)
    torch.manual_seed(4)
    for _ in range(3):
        s.sample([0, 2], 10)
    key = (0, 2)
    assert key in s._chains and s._chains[key].shape == (8, s.nz)  # the chain is kept between requests
    used = s.pool.used[key]
    assert int(used.sum()) == 30 and (s.pool.loss(key)[used] < xi).all()
    assert s.bind(image, labels)._chains == {}  # a new image starts fresh


@pytest.mark.parametrize("reuse", [False, True])
def test_present_within_xi_marks_exactly_the_superpixels_reconstructed_under_xi(setup, reuse):
    """Shared present-masks: P = anchor + superpixels with MSE < xi; x pasted on P; Eq. 8 holds on P."""
    G, image, labels = setup
    xi = 0.2
    s = BatchNormTrainSampler(
        G, xi=xi, n_latents=8, present_within_xi=True, reuse=reuse, pool_init=32 if reuse else 0
    ).bind(image, labels)
    generated = []
    generate = s.generate
    s.generate = lambda anchor, n: generated.append(generate(anchor, n)) or generated[-1]
    torch.manual_seed(4)
    anchor = [1]
    imgs, present = s.sample(anchor, 16)
    gz = generated[-1]
    assert present[:, anchor].all() and present.sum() > 16  # something beyond the anchor is shared
    for i in range(16):
        P = [f for f in range(s.n_features) if present[i, f]]
        A = s.mask(P)
        assert torch.equal(imgs[i, 0][A.bool()], image[0][A.bool()])  # x pasted on all of P
        assert torch.equal(imgs[i, 0][~A.bool()], gz[i, 0][~A.bool()])  # G(z) everywhere else
        assert float(anchor_loss(gz[i : i + 1], image * A, A)) < xi  # Eq. 8 on the enlarged set
        for f in range(s.n_features):
            if f in anchor:
                continue
            m = torch.as_tensor(labels == f)
            mse = float(((gz[i, 0][m] - image[0][m]) ** 2).mean())
            assert (mse < xi) == bool(present[i, f]), (i, f, mse)


def test_small_requests_optimise_min_latents_and_chains_resume(setup):
    """A 1-sample request optimises min_latents latents; a later larger request continues them."""
    G, image, labels = setup
    xi = 0.2
    s = BatchNormTrainSampler(G, xi=xi, n_latents=16, reuse=True, pool_init=0, min_latents=4).bind(image, labels)
    batches = []
    forward = s._forward
    s._forward = lambda z: batches.append(len(z)) or forward(z)
    torch.manual_seed(5)
    s.sample([1, 3], 1)
    assert set(batches) == {4} and len(s._chains[(1, 3)]) == 4
    fresh = []
    init = s.init_latents
    s.init_latents = lambda k: fresh.append(k) or init(k)
    batches.clear()
    s.sample([1, 3], 10)
    assert set(batches) == {16}
    A = s.mask([1, 3])[None, None]
    assert (s.pool.loss((1, 3))[s.pool.used[(1, 3)]] < xi).all()  # Eq. 8 held for every served image
    assert float(anchor_loss(s.pool.images[-1:], image * A, A)) < xi
    # the larger request continued the 4 stored latents and drew only 12 fresh ones to fill its batch
    assert fresh[0] == 12 and len(s._chains[(1, 3)]) == 16


def test_channels_last_matches_nchw_and_leaves_the_callers_generator_alone():
    """The NHWC copy is a speed setting only: same samples (to float rounding) as NCHW, and the caller's
    generator keeps its memory format, its BatchNorm statistics and its requires_grad flags."""
    G = Generator(nz=8, ngf=4).eval()
    with torch.no_grad():
        image = G(torch.randn(1, 8))[0]
    seg = quickshift_k(image, 6, max_iter=12).labels
    before = {k: v.clone() for k, v in G.state_dict().items()}
    out = {}
    for Sampler in (BatchSampler, BatchNormTrainSampler):
        for cl in (False, True):
            s = Sampler(G, xi=0.5, n_latents=8, max_steps=20, channels_last=cl).bind(image, seg)
            torch.manual_seed(0)
            out[Sampler.name, cl] = s.sample([0], 6)[0]
            assert s.G.net[0].weight.is_contiguous(memory_format=torch.channels_last) == cl
        assert torch.allclose(out[Sampler.name, False], out[Sampler.name, True], atol=1e-4)
    assert all(p.is_contiguous() and p.requires_grad for p in G.parameters())
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
