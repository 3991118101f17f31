"""Numbers for the work's qualitative claims: code accuracy, conditioning accuracy, direction effects."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from ..guards import check_classifier_inputs
from ..models import predict_logits
from .protocol import check_generator


def matched_accuracy(
    codes: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    n_codes: int | None = None,
    n_labels: int | None = None,
) -> tuple[float, dict[int, int]]:
    """Accuracy under the best one-to-one matching of codes to labels (Hungarian algorithm).

    InfoGAN's categorical code is unsupervised, so code 3 may draw the digit 7: the
    accuracy counts a sample correct when its label is the one matched to its code, with
    the matching chosen to maximise the number of agreements.
    """
    codes = np.asarray(codes, dtype=int)
    labels = np.asarray(labels, dtype=int)
    if codes.shape != labels.shape:
        raise ValueError(f"codes {codes.shape} and labels {labels.shape} must have the same shape")
    k = n_codes or int(codes.max()) + 1
    m = n_labels or int(labels.max()) + 1
    counts = np.zeros((k, m), dtype=np.int64)
    np.add.at(counts, (codes, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / max(len(codes), 1)), {int(r): int(c) for r, c in zip(rows, cols)}


@torch.no_grad()
def conditioning_accuracy(
    G: nn.Module,
    classifier: nn.Module,
    n_per_class: int = 100,
    n_classes: int = 10,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Share of conditional samples that ``classifier`` assigns to the requested class."""
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    dev = next(G.parameters()).device
    z = torch.randn(len(labels), G.latent_dim, generator=generator).to(dev)
    images = check_classifier_inputs(classifier, G(z, labels.to(dev)).cpu(), name="generated images", warn_unit=False)
    preds = predict_logits(classifier, images).argmax(1)
    per_class = [float((preds[labels == c] == c).float().mean()) for c in range(n_classes)]
    return {"accuracy": float((preds == labels).float().mean()), "per_class": per_class}


@torch.no_grad()
def direction_effects(
    G: Any,
    directions: torch.Tensor,
    classifier: nn.Module,
    shift: float,
    n: int = 200,
    content_threshold: float = 0.25,
    generator: torch.Generator | None = None,
) -> list[dict[str, float]]:
    """Effect size of each latent direction (rows of ``directions``, (K, latent_dim)).

    For n latent samples (and their conditions) the images at ``z`` and ``z +/- shift * d_k``
    are compared: ``pixel_change`` = mean |delta| in [-1, 1] units; ``label_change`` = share
    of (sample, sign) pairs whose classifier label differs from the unshifted one.  A
    direction is called "content" when its label-change rate exceeds ``content_threshold``,
    else "style" (the work's Sec. 6.1.1 distinction, made a number).
    """
    G = check_generator(G)
    z = G.sample_latent(n, generator)
    cond = G.sample_condition(n, generator)
    base = G(z, **cond)
    check_classifier_inputs(classifier, base.cpu(), name="generated images", warn_unit=False)
    base_pred = predict_logits(classifier, base.cpu()).argmax(1)
    out = []
    for k, d in enumerate(directions.to(z)):
        pix, changed = [], []
        for sign in (-1.0, 1.0):
            img = G(z + sign * shift * d, **cond)
            pix.append((img - base).abs().mean().item())
            changed.append((predict_logits(classifier, img.cpu()).argmax(1) != base_pred).float().mean().item())
        rate = float(np.mean(changed))
        out.append(
            {
                "direction": k,
                "pixel_change": float(np.mean(pix)),
                "label_change": rate,
                "kind": "content" if rate > content_threshold else "style",
            }
        )
    return out


def summarize_effects(effects: list[dict[str, float]]) -> dict[str, float]:
    rates = np.array([e["label_change"] for e in effects])
    return {
        "mean_label_change": float(rates.mean()),
        "median_label_change": float(np.median(rates)),
        "mean_pixel_change": float(np.mean([e["pixel_change"] for e in effects])),
        "n_content": int(sum(e["kind"] == "content" for e in effects)),
        "n_style": int(sum(e["kind"] == "style" for e in effects)),
    }


def attention_stroke_correlation(images: torch.Tensor, maps: torch.Tensor, on_stroke: torch.Tensor) -> dict[str, float]:
    """How much each attention map looks like the digit (the work's Sec. 6.1.2 claim, as a number).

    Pearson correlation between each map (B, Q, h, w) and the image's brightness pooled to the
    map's grid, averaged separately over on-stroke and off-stroke queries ((B, Q) booleans).
    """
    target = torch.nn.functional.adaptive_avg_pool2d(images[:, :1], maps.shape[-2:]).flatten(1)  # (B, hw)
    m = maps.flatten(2)  # (B, Q, hw)
    mc = m - m.mean(-1, keepdim=True)
    tc = (target - target.mean(-1, keepdim=True))[:, None]
    corr = (mc * tc).sum(-1) / (mc.norm(dim=-1) * tc.norm(dim=-1)).clamp_min(1e-12)
    on = on_stroke.bool()
    nan = float("nan")
    return {
        "corr_on_stroke": float(corr[on].mean()) if on.any() else nan,
        "corr_off_stroke": float(corr[~on].mean()) if (~on).any() else nan,
        "n_on": int(on.sum()),
        "n_off": int((~on).sum()),
    }


def attention_columns(maps: torch.Tensor, on_stroke: torch.Tensor, border: int = 1) -> dict[str, Any]:
    """Where the attention of on- and off-stroke queries goes, column by column (the work's "silent" claim).

    ``maps`` (B, Q, h, w) are distributions over the attention grid (:func:`genxai.gan_xai.attention_maps`);
    ``on_stroke`` (B, Q) says which queries sit on the digit.  Returns the mean attention mass per column for each
    kind of query, the share that lands on the ``border`` outermost columns on either side (``*_border_mass``)
    beside that share under a uniform map (``border_mass_uniform`` = 2·border/w), and the share of the *interior*
    columns' mass that lands on odd columns (``*_odd_mass``; ``odd_mass_uniform`` for a uniform map), which exposes a
    checkerboard left by a stride-2 transposed convolution without counting a border column as part of it.
    """
    on = on_stroke.bool()
    cols = maps.sum(-2)  # (B, Q, w)
    w = cols.shape[-1]
    edge = torch.zeros(w, dtype=torch.bool)
    edge[:border], edge[w - border :] = True, True
    odd = (torch.arange(w) % 2 == 1) & ~edge
    out: dict[str, Any] = {
        "border_mass_uniform": 2 * border / w,
        "odd_mass_uniform": float(odd.sum() / (~edge).sum()),
    }
    for name, sel in (("on_stroke", on), ("off_stroke", ~on)):
        profile = cols[sel].mean(0) if sel.any() else torch.full((w,), float("nan"))
        out[f"{name}_columns"] = [float(v) for v in profile]
        out[f"{name}_border_mass"] = float(profile[edge].sum())
        out[f"{name}_odd_mass"] = float(profile[odd].sum() / profile[~edge].sum().clamp_min(1e-12))
    return out


@torch.no_grad()
def attention_input_columns(G: nn.Module, z: torch.Tensor, block: int = 0, **condition) -> dict[str, list[float]]:
    """Per column of the attention grid: the mean norm of the block's input features and of its keys.

    A position whose key stands out from every other (large norm, same for every image) is where a query with
    nothing to look at puts its attention; where the grid comes from a stride-2 transposed convolution
    (``upsample="transposed"``), its first and last rows and columns get one kernel tap per axis instead of two.
    """
    from .attention import attention_blocks

    attn = attention_blocks(G)[block]
    seen: dict[str, torch.Tensor] = {}
    hook = attn.register_forward_hook(lambda module, inputs, output: seen.setdefault("x", inputs[0]))
    was = G.training
    G.eval()
    try:
        G(z, **condition)
    finally:
        hook.remove()
        G.train(was)
    x = seen["x"]
    return {
        "feature_norm": [float(v) for v in x.norm(dim=1).mean((0, 1))],
        "key_norm": [float(v) for v in attn.key(x).norm(dim=1).mean((0, 1))],
    }
