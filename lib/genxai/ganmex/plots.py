"""Figures of GANMEX: saliency grids with their baselines (Figs. 2-5)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .. import viz


def row_label(title: str, width: int = 20) -> str:
    """A long "a->b" row title on two lines: the rotated label of a one-inch row spills into the next
    row's beyond about 20 characters at 7 pt (the BAM-like class pairs, "trouser-checker->bag-checker")."""
    return title.replace("->", "->\n", 1) if len(title) > width else title


def saliency_grid(x, baselines: dict, maps: dict, methods, kinds, row_titles=None, method_names=None):
    """Rows: examples; columns: input, then per baseline kind its baseline and one map per method."""
    n = len(x)
    ncol = 1 + len(kinds) * (1 + len(methods))
    fig, axes = plt.subplots(n, ncol, figsize=(0.95 * ncol, 0.95 * n + 0.4), squeeze=False)
    for i in range(n):
        viz.show_image(axes[i, 0], x[i], "input" if i == 0 else None)
        if row_titles:
            axes[i, 0].set_ylabel(row_label(row_titles[i]), fontsize=7)
        col = 1
        for k in kinds:
            viz.show_image(axes[i, col], baselines[k][i], f"{k}" if i == 0 else None)
            col += 1
            for m in methods:
                viz.saliency_overlay(
                    axes[i, col], x[i], maps[(m, k)][i], f"{(method_names or {}).get(m, m)}" if i == 0 else None
                )
                col += 1
    fig.tight_layout(pad=0.2)
    return fig
