"""Figures of the StylEx notebooks (the poster's counterfactual figure lives in :mod:`genxai.stylex.export` and is
re-exported here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch

from ..viz import image_grid, show_image
from .export import counterfactual_figure

__all__ = ["attribute_rows", "counterfactual_figure", "fid_curve", "reconstruction_grid", "sufficiency_curves"]


def reconstruction_grid(
    originals: torch.Tensor,
    recs: torch.Tensor,
    p_orig: torch.Tensor,
    p_rec: torch.Tensor,
    class_name: str,
    per_row: int = 8,
):
    """Originals (odd rows) above their reconstructions (even rows), each titled with the classifier's
    probability of ``class_name``."""
    n = len(originals)
    cells, titles = [], []
    for start in range(0, n, per_row):
        block = range(start, min(n, start + per_row))
        for src, p in ((originals, p_orig), (recs, p_rec)):
            cells += [src[i].cpu() for i in block]
            titles += [f"{p[i]:.2f}" for i in block]
            cells += [torch.full_like(originals[0].cpu(), 1.0)] * (per_row - len(block))
            titles += [""] * (per_row - len(block))
    rows = len(cells) // per_row
    labels = ["original" if r % 2 == 0 else "reconstr." for r in range(rows)]
    return image_grid(
        torch.stack(cells),
        nrow=per_row,
        titles=titles,
        row_labels=labels,
        cell=1.1,
        suptitle=f"Reconstructions G(E(x), C(x)); titles: p({class_name})",
    )


def attribute_rows(before: torch.Tensor, after: Sequence[torch.Tensor], labels: Sequence[str], titles=None):
    """One row per attribute: ``before`` (n images, the same for every row) alternating with the images after the
    attribute's shift, so each change reads left to right (before | after)."""
    n = len(before)
    fig, axes = plt.subplots(len(after), 2 * n, figsize=(0.95 * 2 * n, 1.05 * len(after) + 0.4), squeeze=False)
    for r, imgs in enumerate(after):
        for j in range(n):
            show_image(axes[r, 2 * j], before[j].cpu(), "before" if r == 0 else None)
            show_image(axes[r, 2 * j + 1], imgs[j].cpu(), "after" if r == 0 else None)
            if titles is not None:
                axes[r, 2 * j + 1].set_xlabel(titles[r][j], fontsize=6)
        axes[r, 0].set_ylabel(labels[r], fontsize=7)
    fig.suptitle("Top attributes: each row shifts one StyleSpace coordinate", fontsize=9)
    fig.tight_layout()
    return fig


def sufficiency_curves(table: pd.DataFrame, class_names: Sequence[str], published: Mapping[str, float] | None = None):
    """Share of flipped decisions against k (top-k attributes shifted together), one panel per shift size; the
    reproduction's published top-10 numbers as dotted horizontal lines (other data sets: for scale only)."""
    shifts = sorted(table["shift"].unique())
    fig, axes = plt.subplots(1, len(shifts), figsize=(4.2 * len(shifts) + 1.6, 3.2), squeeze=False, sharey=True)
    for ax, s in zip(axes[0], shifts):
        t = table[table["shift"] == s].sort_values("k")
        ax.plot(t["k"], t["all"], marker="o", ms=3, color="black", label="all images")
        for name, style in zip(class_names, ("--", ":")):
            ax.plot(t["k"], t[name], ls=style, marker=".", label=f"predicted {name}")
        if "judge_agrees_on_flips" in t:
            ax.plot(
                t["k"],
                t["all"] * t["judge_agrees_on_flips"].fillna(0),
                color="tab:green",
                marker="x",
                ms=4,
                label="flipped, and the judge agrees",
            )
        for (label, value), colour in zip((published or {}).items(), ("tab:red", "tab:purple", "tab:brown", "grey")):
            ax.axhline(value, color=colour, lw=0.8, ls=(0, (1, 2)))
            if ax is axes[0, -1]:  # named once, right of the last panel, clear of the curves
                ax.text(
                    1.02,
                    value,
                    label,
                    fontsize=6,
                    va="center",
                    ha="left",
                    color=colour,
                    transform=ax.get_yaxis_transform(),
                )
        ax.set_title(f"shift size s = {s:g}", fontsize=9)
        ax.set_xlabel("k (top-k attributes shifted)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("share of decisions flipped")
    axes[0, -1].legend(fontsize=6, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    return fig


def fid_curve(table: pd.DataFrame, judge_name: str = "judge"):
    """Fréchet distance to the originals against k (k = 0: plain reconstructions), one line per shift size."""
    fig, ax = plt.subplots(figsize=(4.5, 3.0))
    for s in sorted(table["shift"].unique()):
        t = table[table["shift"] == s].sort_values("k")
        ax.plot(t["k"], t["fid"], marker="o", ms=3, label=f"s = {s:g}")
    ax.set_xlabel("k (top-k attributes shifted; 0 = reconstruction)")
    ax.set_ylabel(f"Fréchet distance ({judge_name} features)")
    ax.set_title("FID under perturbation", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
