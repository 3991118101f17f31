"""Coherence and distinctness of StylEx attributes, measured by machine on data with known generating factors.

The user study asks people whether one attribute always shows one change (coherence: the classification study) and
whether different attributes show different changes (distinctness: the verbal study).  On our procedural trains the
generating factors are known, and attribute detectors (:class:`~genxai.stylex.trains_task.FactorDetectorConfig`)
read them off any image, so both questions get an objective answer:

1. For attribute a = (d, i) (StyleSpace coordinate i moved towards its minimum, d = 0, or maximum, d = 1, over the
   AttFind images, by ``shift_size`` of the way: the change the study's animations show) and N images, the effect on
   factor column c is the standardised mean change ``mean_n (f_c(G(s_n + shift)) - f_c(G(s_n))) / sd_c``
   (sd_c: the column's spread over real renders).  A factor with several columns (a colour) takes the Euclidean norm
   of its columns' effects.  The mean is signed: a coherent attribute moves a factor the same way on every image.
2. **Coherence** of a: the share of its total effect that falls on its main factor, ``max_k e_ak / sum_k e_ak``
   (1: one attribute -> one factor; 1/K: spread evenly over K factors).
3. **Distinctness** of a set of attributes: the share of distinct main factors among them (1: different attributes
   -> different factors) and the mean pairwise ``1 - cosine`` of their effect profiles.

Only factors the detectors read reliably on held-out renders (R^2 >= ``min_r2``) enter the measure: a change of a
factor no detector can see cannot be attributed.  The same measure on random StyleSpace coordinates is the baseline.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from .attfind import StyleCodes, _targets, images_of, style_codes
from .model import StylEx
from .trains_task import COLUMNS, FACTORS, DetectorNet


@torch.no_grad()
def balanced_codes(model: StylEx, pool: torch.Tensor, n: int, seed: int = 0) -> tuple[StyleCodes, torch.Tensor]:
    """AttFind's N images taken from ``pool`` so that both predicted classes (the classifier on G(s), as AttFind
    splits them) are represented, half each where the pool allows; s_min / s_max over the chosen images.

    Returns the codes and the chosen indices into ``pool``.  AttFind needs images of both classes (each class's
    attributes are found on the other class's images); the error names the fix when the pool has only one.
    """
    full = style_codes(model, pool, seed=seed)
    pred = full.predicted.cpu()
    by_class = [torch.nonzero(pred == c).flatten() for c in (0, 1)]
    if any(len(b) == 0 for b in by_class):
        only = int(pred[0])
        raise ValueError(
            f"the classifier calls every one of {len(pool)} StylEx images class {only}: AttFind needs both classes; "
            "train StylEx (and the classifier) longer in this profile, or give a larger pool"
        )
    half = n // 2
    take0 = min(len(by_class[0]), max(half, n - len(by_class[1])))
    idx = torch.cat([by_class[0][:take0], by_class[1][: n - take0]]).sort().values
    dev = full.flat.device
    flat = full.flat[idx.to(dev)]
    codes = StyleCodes(
        [s[idx.to(dev)] for s in full.styles],
        flat,
        full.logits[idx.to(dev)],
        full.noise,
        flat.min(0).values,
        flat.max(0).values,
    )
    return codes, idx


def readable_factors(test_r2: dict[str, float], min_r2: float = 0.5) -> list[str]:
    """Factors all of whose columns the detectors predict with R^2 >= ``min_r2`` on held-out renders."""
    return [f for f, cols in FACTORS.items() if all(test_r2[c] >= min_r2 for c in cols)]


@torch.no_grad()
def shifted(codes: StyleCodes, attribute: tuple[int, int], shift_size: float) -> torch.Tensor:
    """(N, S) coordinates with coordinate i of every image moved towards s_min (d = 0) or s_max (d = 1)."""
    d, i = attribute
    flat = codes.flat.clone()
    rows = torch.arange(len(flat), device=flat.device)
    flat[:, i] = _targets(codes, rows, torch.full_like(rows, d), torch.full_like(rows, i), shift_size)
    return flat


@torch.no_grad()
def factor_effects(
    model: StylEx,
    codes: StyleCodes,
    detector: DetectorNet,
    attributes: Sequence[tuple[int, int]],
    factor_sd: np.ndarray,
    shift_size: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per attribute, the standardised mean change of every factor column (A, len(COLUMNS)) and its standard
    error (the spread of the per-image changes over sqrt(N))."""
    if len(factor_sd) != len(COLUMNS):
        raise ValueError(f"factor_sd has {len(factor_sd)} entries, the detector {len(COLUMNS)} columns")
    device = codes.flat.device
    base = detector.predict(images_of(model, codes, codes.flat).clamp(-1, 1).to(device)).cpu().numpy()
    means, ses = [], []
    for attribute in attributes:
        after = images_of(model, codes, shifted(codes, attribute, shift_size)).clamp(-1, 1)
        change = (detector.predict(after.to(device)).cpu().numpy() - base) / factor_sd
        means.append(change.mean(0))
        ses.append(change.std(0, ddof=1) / np.sqrt(len(change)) if len(change) > 1 else np.full(len(COLUMNS), np.nan))
    return np.array(means).reshape(-1, len(COLUMNS)), np.array(ses).reshape(-1, len(COLUMNS))


def factor_matrix(column_effects: np.ndarray, factors: Sequence[str]) -> np.ndarray:
    """(A, len(factors)) effect per factor: the norm of its columns' effects."""
    index = {c: k for k, c in enumerate(COLUMNS)}
    return np.stack(
        [np.linalg.norm(column_effects[:, [index[c] for c in FACTORS[f]]], axis=1) for f in factors], 1
    ).reshape(len(column_effects), len(factors))


def coherence(effects: np.ndarray) -> np.ndarray:
    """Share of each attribute's total effect on its main factor (rows of ``effects``: attributes)."""
    total = effects.sum(1)
    return np.where(total > 0, effects.max(1) / np.where(total > 0, total, 1), np.nan)


def distinctness(effects: np.ndarray) -> dict[str, float]:
    """``distinct_main``: share of distinct main factors among the attributes; ``profile_distance``: mean
    pairwise 1 - cosine of the attributes' effect profiles (0: all change the same mix of factors)."""
    if len(effects) < 2:
        raise ValueError("distinctness compares attributes: give at least two")
    main = effects.argmax(1)
    norms = np.linalg.norm(effects, axis=1)
    dist = [
        1 - float(effects[a] @ effects[b] / (norms[a] * norms[b])) if norms[a] > 0 and norms[b] > 0 else 1.0
        for a, b in itertools.combinations(range(len(effects)), 2)
    ]
    return {"distinct_main": len(set(main.tolist())) / len(main), "profile_distance": float(np.mean(dist))}


def attribute_table(
    effects: np.ndarray, factors: Sequence[str], attributes: Sequence[tuple[int, int]], kind: str
) -> pd.DataFrame:
    """One row per attribute: id, kind (AttFind or random), main factor, its effect, coherence, every effect."""
    coh = coherence(effects)
    rows = []
    for a, (d, i) in enumerate(attributes):
        k = int(effects[a].argmax())
        rows.append(
            {
                "attribute": f"d{d}_s{i}",
                "kind": kind,
                "main factor": factors[k],
                "main effect (SD)": float(effects[a, k]),
                "coherence": float(coh[a]),
                **{f: float(effects[a, j]) for j, f in enumerate(factors)},
            }
        )
    return pd.DataFrame(rows)


def summary_rows(tables: dict[str, pd.DataFrame], effects: dict[str, np.ndarray], n_factors: int) -> pd.DataFrame:
    """Per kind of attribute: mean coherence (with its chance level 1/K), distinctness, mean main effect."""
    rows = []
    for kind, table in tables.items():
        dist = distinctness(effects[kind])
        rows.append(
            {
                "attributes": kind,
                "n": len(table),
                "coherence (mean)": float(table["coherence"].mean()),
                "coherence chance (1/K)": 1 / n_factors,
                "distinct main factors": dist["distinct_main"],
                "profile distance (1 - cos)": dist["profile_distance"],
                "main effect (SD, mean)": float(table["main effect (SD)"].mean()),
                "main factors": ", ".join(f"{f} ({n})" for f, n in table["main factor"].value_counts().items()),
            }
        )
    return pd.DataFrame(rows)


def random_attributes(n_coords: int, n: int, exclude: Sequence[int], seed: int) -> list[tuple[int, int]]:
    """``n`` (direction, coordinate) pairs on coordinates not in ``exclude`` (seeded)."""
    pool = np.setdiff1d(np.arange(n_coords), np.asarray(list(exclude), dtype=int))
    if len(pool) < n:
        raise ValueError(f"only {len(pool)} coordinates outside the AttFind attributes; ask for at most that many")
    rng = np.random.default_rng(seed)
    coords = rng.choice(pool, n, replace=False)
    return [(int(rng.integers(2)), int(i)) for i in coords]


@torch.no_grad()
def reconstruction_r2(model: StylEx, detector: DetectorNet, images: torch.Tensor, truth: pd.DataFrame) -> pd.Series:
    """R^2 of the detectors on StylEx reconstructions of ``images`` against the true factors of the originals:
    how much of each factor the reconstructions keep (and the detectors still read on generated images)."""
    from .trains_task import r2_scores

    was = model.training
    model.eval()
    rec = torch.cat([model.reconstruct(images[i : i + 256]).clamp(-1, 1) for i in range(0, len(images), 256)])
    model.train(was)
    pred = detector.predict(rec).cpu().numpy()
    return pd.Series(r2_scores(pred, truth[list(COLUMNS)].to_numpy(np.float32)), index=list(COLUMNS))
