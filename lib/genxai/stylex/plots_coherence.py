"""Figures of the machine-measured coherence and distinctness (:mod:`genxai.stylex.coherence`)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ..viz import to_display


def effect_heatmaps(tables: dict[str, pd.DataFrame], factors: Sequence[str], title: str):
    """One heatmap per kind of attribute (rows: attributes, columns: factors, colour: effect in SD), the main
    factor of each attribute boxed and its coherence written at the right."""
    kinds = list(tables)
    vmax = max(float(t[list(factors)].to_numpy().max()) for t in tables.values()) or 1.0
    heights = [max(1, len(tables[k])) for k in kinds]
    fig, axes = plt.subplots(
        len(kinds),
        1,
        figsize=(1.0 + 0.85 * len(factors), 1.4 + 0.32 * sum(heights) + 0.6 * len(kinds)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, kind in zip(axes[:, 0], kinds):
        t = tables[kind]
        m = t[list(factors)].to_numpy()
        im = ax.imshow(m, cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
        for r in range(len(t)):
            k = int(m[r].argmax())
            ax.add_patch(plt.Rectangle((k - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="crimson", linewidth=1.8))
            for c in range(len(factors)):
                ax.text(
                    c,
                    r,
                    f"{m[r, c]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if m[r, c] > 0.6 * vmax else "black",
                )
        ax.set_yticks(
            range(len(t)), [f"{a}  (coh {c:.2f})" for a, c in zip(t["attribute"], t["coherence"])], fontsize=7
        )
        ax.set_xticks(
            range(len(factors)),
            factors if ax is axes[-1, 0] else [""] * len(factors),
            rotation=35,
            ha="right",
            fontsize=8,
        )
        ax.set_title(kind, fontsize=9)
    fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.8, label="effect (SD of the factor)")
    fig.suptitle(title, fontsize=10)
    return fig


def attribute_strips(
    before: torch.Tensor,
    after: Sequence[torch.Tensor],
    labels: Sequence[str],
    n_images: int = 4,
    cell: float = 0.9,
):
    """Rows: attributes; per image two cells, the reconstruction and the image with the attribute shifted."""
    n_images = min(n_images, len(before))
    fig, axes = plt.subplots(
        len(after), 2 * n_images, figsize=(cell * 2 * n_images + 1.8, cell * len(after) + 0.5), squeeze=False
    )
    for r, (img, label) in enumerate(zip(after, labels)):
        for j in range(n_images):
            for k, x in enumerate((before[j], img[j])):
                ax = axes[r, 2 * j + k]
                ax.imshow(to_display(x), interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title("before" if k == 0 else "after", fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("StylEx attributes on trains: each pair is one image before / after the shift", fontsize=9)
    fig.tight_layout()
    return fig


def detector_quality(r2: pd.DataFrame):
    """Bars: detector R^2 per factor column on held-out renders and on StylEx reconstructions."""
    x = np.arange(len(r2))
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * len(r2), 3.0))
    width = 0.4
    for k, col in enumerate(r2.columns):
        ax.bar(x + (k - 0.5) * width, r2[col].clip(lower=-0.2), width, label=col)
    ax.set_xticks(x, r2.index, rotation=40, ha="right", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylim(-0.2, 1.02)
    ax.set_ylabel("R² (clipped at -0.2)")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("Attribute detectors: how well each factor is read", fontsize=9)
    fig.tight_layout()
    return fig
