"""Objective measures of handwriting images, beyond the work (which judges directions and maps by eye).

Shape measures, per image (float (B, 1, H, W) in [-1, 1], ink dark): ink is ``(1 - x) / 2`` in [0, 1].

* :func:`ink_width`: stroke thickness in pixels: 2·d - 1 with d the mean Euclidean distance transform on the
  stroke's skeleton (the centre pixel of an odd stroke of width w lies (w + 1) / 2 pixel centres from the paper).
* :func:`slant_of`: the regression slope of the ink's horizontal position on its height above the baseline, from
  the second moments of the ink distribution: cov(x, up) / var(up).  0 = upright, > 0 leans right.
* :func:`ink_length`: width of the inked columns in pixels (first to last column with ink).

Reading measures with a recogniser (an :class:`~genxai.scrabblegan.model.Recogniser`):

* :func:`error_rates`: character error rate (edit distance / reference length, summed over words) and word
  error rate (share of words not read exactly).
* :func:`frechet_distance`: Fréchet distance between Gaussian fits of two feature sets (Heusel et al. 2017).
* :func:`style_diversity`: mean pairwise feature distance across latent codes for a fixed word.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy import linalg, ndimage
from skimage.morphology import skeletonize

INK_THRESHOLD = 0.5  # ink amount above which a pixel is stroke


def ink(images: torch.Tensor) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"expected greyscale images (B, 1, H, W) in [-1, 1], got shape {tuple(images.shape)}")
    return ((1.0 - images.detach().float().cpu()) / 2.0).clamp(0, 1)[:, 0]


def ink_width(images: torch.Tensor) -> torch.Tensor:
    """Stroke thickness (px) per image: 2 x mean distance transform on the skeleton - 1; NaN without ink."""
    out = []
    for a in ink(images).numpy():
        mask = a > INK_THRESHOLD
        if not mask.any():
            out.append(float("nan"))
            continue
        skel = skeletonize(mask)
        dist = ndimage.distance_transform_edt(mask)
        d = dist[skel].mean() if skel.any() else dist.max()
        out.append(float(2.0 * d - 1.0))
    return torch.tensor(out)


def slant_of(images: torch.Tensor) -> torch.Tensor:
    """Slant per image: slope of ink x on ink height, cov(x, up) / var(up) over ink-weighted pixels (> 0: right)."""
    a = ink(images)
    _, h, w = a.shape
    up = (h - 1 - torch.arange(h, dtype=torch.float32))[:, None].expand(h, w)
    x = torch.arange(w, dtype=torch.float32)[None, :].expand(h, w)
    m = a.sum((1, 2)).clamp_min(1e-6)
    mu_up = (a * up).sum((1, 2)) / m
    mu_x = (a * x).sum((1, 2)) / m
    cov = (a * (up - mu_up[:, None, None]) * (x - mu_x[:, None, None])).sum((1, 2)) / m
    var = (a * (up - mu_up[:, None, None]) ** 2).sum((1, 2)) / m
    return cov / var.clamp_min(1e-6)


def ink_length(images: torch.Tensor) -> torch.Tensor:
    """Width in pixels from the first to the last column holding ink (0 without ink)."""
    cols = (ink(images) > INK_THRESHOLD).any(1)  # (B, W)
    out = []
    for c in cols:
        idx = torch.nonzero(c).flatten()
        out.append(float(idx[-1] - idx[0] + 1) if len(idx) else 0.0)
    return torch.tensor(out)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (hand-written: 10 lines, and no maintained dependency is installed for it)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def error_rates(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """CER = sum of edit distances / sum of reference lengths; WER = share of words not read exactly."""
    if len(predictions) != len(references) or not references:
        raise ValueError(f"need equally many predictions and references, got {len(predictions)} and {len(references)}")
    edits = sum(edit_distance(p, r) for p, r in zip(predictions, references))
    chars = sum(len(r) for r in references)
    wrong = sum(p != r for p, r in zip(predictions, references))
    return {"cer": edits / chars, "wer": wrong / len(references), "n_words": len(references)}


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets a (N, D) and b (M, D).

    Takes features, not images: words have many widths, so the recogniser's per-word features are computed
    per length and pooled by the caller (:func:`genxai.metrics.realism.feature_fid` wants equally sized images).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two feature sets (N, D) with one D and N >= 2, got {a.shape} and {b.shape}")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def style_diversity(features: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between the features of one word written with different z."""
    if len(features) < 2:
        raise ValueError("style diversity needs at least two samples of the word")
    d = torch.cdist(features.float(), features.float())
    n = len(features)
    return float(d.sum() / (n * (n - 1)))
