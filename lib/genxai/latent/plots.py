"""Figures of the GAN-explainability notebooks (images in [-1, 1]; conversion in genxai.viz)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..viz import show_image, to_display


def direction_blocks(blocks: Sequence[torch.Tensor], shifts: Sequence[float], titles: Sequence[str],
                     row_labels: Sequence[str] | None = None, cell: float = 0.55):
    """One block per direction (the work's Figs 6.5/6.6/6.8): rows = samples, columns = shifts."""
    n = len(blocks)
    rows, cols = blocks[0].shape[:2]
    fig, axes = plt.subplots(rows, n * cols, figsize=(cell * n * cols + 0.3 * n, cell * rows + 0.5), squeeze=False,
                             gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for b, block in enumerate(blocks):
        for r in range(rows):
            for c in range(cols):
                ax = axes[r, b * cols + c]
                show_image(ax, block[r, c])
                if r == 0:
                    ax.set_title(f"{shifts[c]:+.0f}", fontsize=6)
                if c == 0 and b == 0 and row_labels:
                    ax.set_ylabel(row_labels[r], fontsize=7)
        mid = axes[0, b * cols + cols // 2]
        mid.text(0.5, 1.6, titles[b], transform=mid.transAxes, ha="center", fontsize=8)
    return fig


def attention_figure(images: torch.Tensor, maps: torch.Tensor, queries: Sequence[tuple[int, int]],
                     on_stroke: torch.Tensor | None = None, cell: float = 1.2):
    """The work's Fig. 6.7: per row, the generated image with its query pixels, then one map per query."""
    b, q = maps.shape[:2]
    fig, axes = plt.subplots(b, q + 1, figsize=(cell * (q + 1), cell * b), squeeze=False)
    colours = plt.cm.tab10(np.arange(q) % 10)
    for i in range(b):
        show_image(axes[i, 0], images[i])
        for j, (r, c) in enumerate(queries):
            axes[i, 0].scatter([c], [r], s=18, color=colours[j], edgecolors="white", linewidths=0.5)
            ax = axes[i, j + 1]
            ax.imshow(maps[i, j].cpu().numpy(), cmap="viridis", interpolation="nearest")
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
        ax.scatter([e["pixel_change"] for e in eff], [e["label_change"] for e in eff], label=name, marker=marker,
                   alpha=0.8)
    ax.axhline(threshold, color="grey", ls="--", lw=0.8)
    ax.text(ax.get_xlim()[0], threshold, " content above / style below", va="bottom", fontsize=7, color="grey")
    ax.set_xlabel("mean |pixel change| (of 2)")
    ax.set_ylabel("classifier label-change rate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def stroke_mask(images: torch.Tensor, queries: Sequence[tuple[int, int]], level: float = 0.0) -> torch.Tensor:
    """(B, Q) booleans: is each query pixel on the stroke (brighter than ``level``)?"""
    return torch.stack([images[:, 0, r, c] > level for r, c in queries], 1)


__all__ = ["direction_blocks", "attention_figure", "effect_scatter", "stroke_mask", "to_display"]
