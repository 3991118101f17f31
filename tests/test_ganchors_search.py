"""The anchor search equals anchor-exp 0.0.2.0's AnchorBaseBeam on the same seeded sampler."""

from __future__ import annotations

import numpy as np
import pytest

from genxai.ganchors import SearchConfig, anchor_beam, kl_lower, kl_upper

anchor_base = pytest.importorskip("anchor.anchor_base", reason="pip install --no-deps anchor-exp==0.0.2.0")


def toy_sampler(seed: int, m: int = 12, key=(3, 7), noise: float = 0.02):
    """Features kept with p=0.5; label 1 iff all key features kept (flipped with prob noise)."""
    rs = np.random.RandomState(seed)

    def fn(present, n, compute_labels=True):
        data = (rs.rand(n, m) < 0.5).astype(np.int64)
        data[:, list(present)] = 1
        if not compute_labels:
            return data, None
        labels = data[:, list(key)].all(1).astype(np.int64)
        flip = rs.rand(n) < noise
        return data, np.where(flip, 1 - labels, labels)

    return fn


def reference_fn(fn):
    def ref(present, n, compute_labels=True):
        data, labels = fn(present, n, compute_labels)
        return data, data, (labels if labels is not None else [])

    return ref


@pytest.mark.parametrize("seed,key,max_size", [(0, (3, 7), 3), (1, (2, 5, 9), None), (2, (4,), 3), (3, (1, 6, 8), 2)])
def test_same_anchor_and_precision_as_anchor_exp(seed, key, max_size):
    cfg = SearchConfig(max_anchor_size=max_size, coverage_samples=500, batch_size=20)
    ours = anchor_beam(toy_sampler(seed, key=key), cfg)
    ref = anchor_base.AnchorBaseBeam.anchor_beam(
        reference_fn(toy_sampler(seed, key=key)),
        delta=cfg.delta,
        epsilon=cfg.epsilon,
        batch_size=cfg.batch_size,
        desired_confidence=cfg.threshold,
        beam_size=cfg.beam_size,
        epsilon_stop=cfg.epsilon_stop,
        min_samples_start=cfg.min_samples_start,
        max_anchor_size=cfg.max_anchor_size,
        coverage_samples=cfg.coverage_samples,
    )
    assert ours.features == [int(f) for f in ref["feature"]]
    assert ours.precisions == pytest.approx(ref["precision"])
    assert ours.coverages == pytest.approx(ref["coverage"])
    if len(key) <= (max_size or 99):
        assert set(ours.features) >= set(key)  # the true rule is found
        assert ours.precision >= 0.9


def test_beam_size_two_matches_reference():
    cfg = SearchConfig(max_anchor_size=3, coverage_samples=300, batch_size=20, beam_size=2)
    ours = anchor_beam(toy_sampler(5, key=(0, 11)), cfg)
    ref = anchor_base.AnchorBaseBeam.anchor_beam(
        reference_fn(toy_sampler(5, key=(0, 11))),
        delta=cfg.delta,
        epsilon=cfg.epsilon,
        batch_size=cfg.batch_size,
        desired_confidence=cfg.threshold,
        beam_size=2,
        max_anchor_size=3,
        coverage_samples=cfg.coverage_samples,
    )
    assert ours.features == [int(f) for f in ref["feature"]]
    assert ours.precision == pytest.approx(ref["precision"][-1])


def test_kl_bounds_vectorised_equal_scalar_reference():
    ps = np.array([0.0, 0.1, 0.5, 0.93, 1.0])
    levels = np.array([0.01, 0.3, 0.05, 1.2, 0.002])
    up, lo = kl_upper(ps, levels), kl_lower(ps, levels)
    for p, lev, u, l_ in zip(ps, levels, up, lo):
        assert u == pytest.approx(anchor_base.AnchorBaseBeam.dup_bernoulli(p, lev))
        assert l_ == pytest.approx(anchor_base.AnchorBaseBeam.dlow_bernoulli(p, lev))
        assert l_ <= p <= u


def test_empty_anchor_when_perturbations_never_change_the_class():
    def fn(present, n, compute_labels=True):
        data = np.ones((n, 6), dtype=np.int64)
        return data, (np.ones(n, dtype=np.int64) if compute_labels else None)

    res = anchor_beam(fn, SearchConfig(min_samples_start=50))
    assert res.features == [] and res.precision == 1.0
