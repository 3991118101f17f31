"""Figures of the GAN-explainability notebooks (images in [-1, 1]; conversion in genxai.viz)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..viz import show_image, to_display


def _shift_label(shift: float) -> str:
    """ "+3" for whole shifts, "-0.5" otherwise (a rounded "-0" would hide the step's sign and size)."""
    shift = round(float(shift), 6) + 0.0  # linspace's middle step can be -0.0 or 1e-8 away from 0
    return f"{shift:+.0f}" if shift.is_integer() else f"{shift:+.2g}"


def direction_blocks(
    blocks: Sequence[torch.Tensor],
    shifts: Sequence[float],
    titles: Sequence[str],
    row_labels: Sequence[str] | None = None,
    cell: float = 0.55,
    suptitle: str | None = None,
):
    """One block per direction (the work's Figs 6.5/6.6/6.8): rows = samples, columns = shifts."""
    n = len(blocks)
    rows, cols = blocks[0].shape[:2]
    # the header (suptitle, block titles, shift labels) gets a fixed height in inches, so that no empty band opens
    # between a suptitle and the grids however many rows there are
    header = 0.55 + (0.2 if suptitle else 0.0)
    height = cell * rows + header
    fig, axes = plt.subplots(
        rows,
        n * cols,
        figsize=(cell * n * cols + 0.3 * n, height),
        squeeze=False,
        gridspec_kw={"wspace": 0.05, "hspace": 0.05, "top": 1 - header / height, "bottom": 0.02},
    )
    for b, block in enumerate(blocks):
        for r in range(rows):
            for c in range(cols):
                ax = axes[r, b * cols + c]
                show_image(ax, block[r, c])
                if r == 0:
                    ax.set_title(_shift_label(shifts[c]), fontsize=6)
                if c == 0 and b == 0 and row_labels:
                    ax.set_ylabel(row_labels[r], fontsize=7)
        mid = axes[0, b * cols + cols // 2]
        mid.text(0.5, 1.6, titles[b], transform=mid.transAxes, ha="center", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9, y=1 - 0.1 / height, va="top")
    return fig


def attention_figure(
    images: torch.Tensor,
    maps: torch.Tensor,
    queries: Sequence[tuple[int, int]] | torch.Tensor,
    on_stroke: torch.Tensor | None = None,
    cell: float = 1.2,
):
    """The work's Fig. 6.7: per row, the generated image with its query pixels, then one map per query.

    ``queries`` are shared (Q, 2) pairs or per-image (B, Q, 2).  Each map is drawn at its own
    grid resolution (e.g. 14x14) stretched over the image's extent, with the digit's outline
    (pixels above 0) drawn on top, so one sees whether the attended positions follow the stroke.
    """
    b, q = maps.shape[:2]
    qs = torch.as_tensor(queries, dtype=torch.long)
    if qs.ndim == 2:
        qs = qs.unsqueeze(0).expand(b, -1, -1)
    H, W = images.shape[-2:]
    fig, axes = plt.subplots(b, q + 1, figsize=(cell * (q + 1), cell * b), squeeze=False)
    colours = plt.cm.tab10(np.arange(q) % 10)
    for i in range(b):
        show_image(axes[i, 0], images[i])
        digit = images[i, 0].cpu().numpy()
        for j in range(q):
            r, c = qs[i, j].tolist()
            axes[i, 0].scatter([c], [r], s=18, color=colours[j], edgecolors="white", linewidths=0.5)
            ax = axes[i, j + 1]
            ax.imshow(
                maps[i, j].cpu().numpy(), cmap="viridis", interpolation="nearest", extent=(-0.5, W - 0.5, H - 0.5, -0.5)
            )
            ax.contour(digit, levels=[0.0], colors="white", linewidths=0.6)
            ax.scatter([c], [r], s=14, marker="x", color="red", linewidths=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_color(colours[j])
                side.set_linewidth(2)
            if on_stroke is not None:
                ax.set_title("on stroke" if on_stroke[i, j] else "off stroke", fontsize=6)
    axes[0, 0].set_title("image + queries", fontsize=7)
    fig.tight_layout()
    return fig


def effect_scatter(effects: dict[str, list[dict[str, float]]], threshold: float):
    """Label-change rate vs mean pixel change for every direction of every model."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for (name, eff), marker in zip(effects.items(), "os^v"):
        ax.scatter(
            [e["pixel_change"] for e in eff], [e["label_change"] for e in eff], label=name, marker=marker, alpha=0.8
        )
    ax.axhline(threshold, color="grey", ls="--", lw=0.8)
    ax.text(ax.get_xlim()[0], threshold, " content above / style below", va="bottom", fontsize=7, color="grey")
    ax.set_xlabel("mean |pixel change| (of 2)")
    ax.set_ylabel("classifier label-change rate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def stroke_mask(
    images: torch.Tensor, queries: Sequence[tuple[int, int]] | torch.Tensor, level: float = 0.0
) -> torch.Tensor:
    """(B, Q) booleans: is each query pixel (shared (Q, 2) or per image (B, Q, 2)) on the stroke?"""
    qs = torch.as_tensor(queries, dtype=torch.long)
    if qs.ndim == 2:
        qs = qs.unsqueeze(0).expand(len(images), -1, -1)
    rows = torch.arange(len(images))[:, None]
    return images[:, 0][rows, qs[..., 0], qs[..., 1]] > level


def stroke_queries(
    images: torch.Tensor,
    n_on: int = 3,
    n_off: int = 3,
    on_level: float = 0.5,
    off_level: float = -0.9,
    margin: int = 2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per-image query pixels (B, n_on + n_off, 2) as (row, col): the first ``n_on`` drawn at random from
    the image's stroke (brightness > ``on_level``), the rest from its background (< ``off_level``),
    ``margin`` pixels away from the border.  Falls back to the brightest / darkest pixels when an
    image has too few of either."""
    b, _, H, W = images.shape
    inner = torch.zeros(H, W, dtype=torch.bool)
    inner[margin : H - margin, margin : W - margin] = True
    out = torch.zeros(b, n_on + n_off, 2, dtype=torch.long)
    for i in range(b):
        img = images[i, 0].cpu()
        picks = []
        for n, mask, score in ((n_on, (img > on_level) & inner, img), (n_off, (img < off_level) & inner, -img)):
            cand = mask.flatten().nonzero().squeeze(1)
            if len(cand) >= n:
                chosen = cand[torch.randperm(len(cand), generator=generator)[:n]]
            else:  # too few: the most extreme pixels inside the margin
                chosen = torch.where(inner.flatten(), score.flatten(), torch.tensor(-float("inf"))).topk(n).indices
            picks.append(chosen)
        idx = torch.cat(picks)
        out[i, :, 0], out[i, :, 1] = idx // W, idx % W
    return out


__all__ = ["direction_blocks", "attention_figure", "effect_scatter", "stroke_mask", "stroke_queries", "to_display"]


def attention_columns_figure(columns: dict[str, dict], inputs: dict[str, dict[str, list[float]]]):
    """Per model (one column of panels): where on- and off-stroke queries attend, column by column, above the key
    norm of each column of the attention grid (:func:`genxai.gan_xai.attention_columns` and
    :func:`~genxai.gan_xai.attention_input_columns`)."""
    names = list(columns)
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 4.6), sharex=True, squeeze=False)
    for j, name in enumerate(names):
        c, k = columns[name], inputs[name]
        w = len(c["on_stroke_columns"])
        x = np.arange(w)
        ax = axes[0, j]
        ax.bar(x - 0.2, c["on_stroke_columns"], width=0.4, label="on-stroke queries", color="tab:green")
        ax.bar(x + 0.2, c["off_stroke_columns"], width=0.4, label="off-stroke queries", color="tab:red")
        ax.axhline(1 / w, color="grey", ls="--", lw=0.8, label="uniform")
        ax.set_title(f"{name.upper()}: attention mass per column")
        ax.set_ylabel("share of attention")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        ax.plot(x, k["key_norm"], "o-", color="tab:purple", label="key norm")
        ax.plot(x, k["feature_norm"], "s--", color="tab:grey", label="input feature norm")
        ax.set_xlabel("column of the 14x14 attention grid (0 = left border)")
        ax.set_ylabel("mean norm")
        ax.set_xticks(x)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
