"""Evaluation metrics of GANMEX (our implementations; see docs/ganmex.md).

* :func:`inverse_localisation`  L(A) of GANMEX Sec. 4.1: mean |A| on the common feature set S_c
  divided by mean |A| on the distinguishing set S_d (lower is better).
* :func:`spearman` / :func:`ssim`  similarity of a saliency map to the original one under
  cascading randomisation (Adebayo et al. 2018): Spearman rank correlation of |A| (our own
  ranking code) and SSIM of |A| scaled to [0, 1] per map (torchmetrics'
  ``structural_similarity_index_measure``, Gaussian window 11, sigma 1.5).
* :func:`gini`  sparseness of |A| (Chalasani et al. 2020, as quantus' Sparseness).
* :func:`baseline_stats`  share of baselines the classifier assigns to the target class and their
  mean L1 distance (per pixel) to the input.
* :func:`mask_mass`, :func:`interior_edge_ratio`  Figure 4's claim measured: attribution mass on
  the object, and interior-vs-edge attribution density inside it.
* :func:`change_outside_over_inside`  how much a baseline changes the image outside the object relative to
  inside it (a counterfactual for "apple, not orange" should recolour the fruit and leave the scene alone).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure


def saliency(attr: torch.Tensor) -> torch.Tensor:
    """|A| summed over channels: (N, C, H, W) -> (N, H, W)."""
    return attr.abs().sum(1) if attr.dim() == 4 else attr.abs()


def inverse_localisation(attr: torch.Tensor, distinguishing: torch.Tensor) -> torch.Tensor:
    """L(A) per example; ``distinguishing`` (N, H, W) bool marks S_d, its complement is S_c."""
    s = saliency(attr)
    d = distinguishing.bool()
    if d.shape != s.shape:
        raise ValueError(f"mask {tuple(d.shape)} must be (N, H, W) like the maps {tuple(s.shape)}")
    if (d.flatten(1).sum(1) == 0).any() or ((~d).flatten(1).sum(1) == 0).any():
        raise ValueError("every mask needs both distinguishing and common pixels")
    common = (s * ~d).flatten(1).sum(1) / (~d).flatten(1).sum(1)
    dist = (s * d).flatten(1).sum(1) / d.flatten(1).sum(1)
    return common / dist.clamp_min(1e-12)


def _ranks(x: torch.Tensor) -> torch.Tensor:
    return x.argsort(1).argsort(1).to(torch.float64)


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between |a| and |b| per example (ties broken by order)."""
    ra, rb = _ranks(saliency(a).flatten(1)), _ranks(saliency(b).flatten(1))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    return ((ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1)).clamp_min(1e-12)).float()


def _unit(s: torch.Tensor) -> torch.Tensor:
    return s / s.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SSIM between |a| and |b| per example, each map scaled to [0, 1] by its maximum."""
    sa, sb = _unit(saliency(a))[:, None].double(), _unit(saliency(b))[:, None].double()
    return structural_similarity_index_measure(sa, sb, data_range=1.0, reduction="none").float()


def gini(attr: torch.Tensor) -> torch.Tensor:
    """Gini index of |A| per example (0: uniform, -> 1: one pixel holds everything)."""
    s = saliency(attr).flatten(1).double().sort(1).values + 1e-12
    n = s.shape[1]
    k = torch.arange(1, n + 1, dtype=s.dtype)
    return (((2 * k - n - 1) * s).sum(1) / (n * s.sum(1))).float()


@torch.no_grad()
def baseline_stats(classifier, inputs: torch.Tensor, baselines: torch.Tensor, target) -> dict[str, float]:
    """Share of ``baselines`` classified as ``target`` and mean L1 (per pixel) to ``inputs``."""
    from ..models import predict_logits

    target = torch.as_tensor(target).long().reshape(-1).expand(len(inputs))
    pred = predict_logits(classifier, baselines).argmax(1)
    return {
        "target_rate": float((pred == target).float().mean()),
        "mean_l1": float((baselines - inputs).abs().flatten(1).mean(1).mean()),
    }


def mask_mass(attr: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of the total |A| that lies on ``mask`` (N, H, W)."""
    s = saliency(attr)
    return (s * mask).flatten(1).sum(1) / s.flatten(1).sum(1).clamp_min(1e-12)


def interior_edge_ratio(attr: torch.Tensor, mask: torch.Tensor, width: int = 1) -> torch.Tensor:
    """Mean |A| on the object's interior over mean |A| on its edge band (``width`` px inside).

    Near 1: the whole object is highlighted; well below 1: only its edges (GANMEX Fig. 4).
    """
    m = mask.float()[:, None]
    eroded = -F.max_pool2d(-m, 2 * width + 1, stride=1, padding=width)
    interior, edge = eroded[:, 0].bool(), (m - eroded)[:, 0].bool()
    s = saliency(attr)
    mi = (s * interior).flatten(1).sum(1) / interior.flatten(1).sum(1).clamp_min(1)
    me = (s * edge).flatten(1).sum(1) / edge.flatten(1).sum(1).clamp_min(1)
    return mi / me.clamp_min(1e-12)


def change_outside_over_inside(inputs: torch.Tensor, baselines: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean |baseline - input| outside ``mask`` divided by the mean inside it, pooled over the whole set.

    Per-pixel changes are averaged over channels; pooling (rather than a mean of per-image ratios) keeps one image
    whose baseline barely touches the object from deciding the number.  0: only the object changes; 1: the scene
    changes as much as the object.

    Args:
        inputs, baselines: (N, C, H, W) images in [-1, 1].
        mask: (N, H, W) bool, True on the object.
    """
    if inputs.shape != baselines.shape:
        raise ValueError(f"inputs {tuple(inputs.shape)} and baselines {tuple(baselines.shape)} must have one shape")
    m = torch.as_tensor(mask).bool()
    if m.shape != (inputs.shape[0], *inputs.shape[2:]):
        raise ValueError(f"mask {tuple(m.shape)} must be (N, H, W) = {(inputs.shape[0], *inputs.shape[2:])}")
    if not m.any() or m.all():
        raise ValueError("the mask needs pixels inside and outside the object")
    change = (baselines - inputs).abs().mean(1)
    inside = change[m].mean()
    outside = change[~m].mean()
    return float(outside / inside.clamp_min(1e-12))
