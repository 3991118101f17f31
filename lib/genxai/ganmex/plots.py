"""Figures of GANMEX (Figs. 2-5): each function takes tensors/tables and returns a matplotlib Figure.

Saliency colours: red where a pixel raises the score of the explained class c_o relative to the baseline, blue where
it lowers it; one symmetric colour scale per row (its colour bar at the row's end), so the maps of one example can be
compared across baselines and methods.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from .. import viz

#: The caption every saliency figure carries.
COLOURS = "red: raises the score of the explained class c_o; blue: lowers it; one colour scale per row"


def row_label(title: str, width: int = 20) -> str:
    """A long "a->b" row title on two lines: the rotated label of a one-inch row spills into the next
    row's beyond about 20 characters at 7 pt (the BAM-like class pairs, "trouser-checker->bag-checker")."""
    return title.replace("->", "->\n", 1) if len(title) > width else title


def _limit(maps) -> float:
    """The symmetric colour limit of a row: the largest |attribution| (channels summed) of its maps."""
    lim = max(float((m.sum(0) if m.ndim == 3 else m).abs().max()) for m in maps)
    return lim or 1.0


def _row_colourbar(fig, axes_row, lim: float) -> None:
    bar = fig.colorbar(
        ScalarMappable(Normalize(-lim, lim), cmap="bwr"), ax=list(axes_row), fraction=0.02, pad=0.01, aspect=8
    )
    bar.set_ticks([-lim, 0, lim])
    bar.ax.tick_params(labelsize=5)
    bar.formatter.set_powerlimits((-2, 2))
    bar.ax.yaxis.get_offset_text().set_fontsize(5)


def saliency_grid(x, baselines: dict, maps: dict, methods, kinds, row_titles=None, method_names=None):
    """Rows: examples; columns: input, then per baseline kind its baseline and one map per method.

    Every row shares one colour scale (colour bar at its end), red = for c_o, blue = against.
    """
    n = len(x)
    ncol = 1 + len(kinds) * (1 + len(methods))
    fig, axes = plt.subplots(n, ncol, figsize=(0.95 * ncol + 0.8, 0.95 * n + 0.7), squeeze=False, layout="constrained")
    for i in range(n):
        viz.show_image(axes[i, 0], x[i], "input" if i == 0 else None)
        if row_titles:
            axes[i, 0].set_ylabel(row_label(row_titles[i]), fontsize=7)
        lim = _limit([maps[(m, k)][i] for k in kinds for m in methods])
        col = 1
        for k in kinds:
            viz.show_image(axes[i, col], baselines[k][i], f"{k}\nbaseline" if i == 0 else None)
            col += 1
            for m in methods:
                title = f"{(method_names or {}).get(m, m)}\n({k})" if i == 0 else None
                viz.saliency_overlay(axes[i, col], x[i], maps[(m, k)][i], title, lim=lim)
                col += 1
        _row_colourbar(fig, axes[i], lim)
    fig.suptitle(COLOURS, fontsize=8)
    return fig


def cascading_curves(casc, what: str, methods, kinds, method_names=None):
    """Fig. 3's curves: similarity (``what``: spearman or ssim) of each map to the original model's map, as the
    classifier is randomised from the top layer down; one panel per method, one line per baseline kind."""
    fig, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.2), sharey=True, squeeze=False)
    for ax, meth in zip(axes[0], methods):
        for kind in kinds:
            s = casc[(casc.method == meth) & (casc.baseline == kind)].sort_values("depth")
            ax.plot(s.layer, s[what], marker="o", label=kind)
        ax.set_title((method_names or {}).get(meth, meth))
        ax.set_xlabel("randomised down to")
        ax.tick_params(axis="x", rotation=45)
    axes[0, 0].set_ylabel(f"{what} vs original map")
    axes[0, 0].legend(fontsize=7, title="baseline", title_fontsize=7)
    fig.tight_layout()
    return fig


def cascading_grid(x: torch.Tensor, cmaps: list, labels: list[str], rows, method_names=None):
    """Fig. 3's grid for one example: columns = randomisation stages, rows = (baseline kind, method) pairs.

    Unlike the other saliency grids each panel has its own colour scale (randomised models' maps differ in size
    by orders of magnitude; the figure compares their shapes, as Adebayo et al.'s do).
    """
    fig, axes = plt.subplots(len(rows), len(labels), figsize=(1.1 * len(labels), 1.1 * len(rows) + 0.5), squeeze=False)
    for r, (kind, meth) in enumerate(rows):
        for k in range(len(labels)):
            viz.saliency_overlay(axes[r, k], x, cmaps[k][(meth, kind)], labels[k] if r == 0 else None)
        axes[r, 0].set_ylabel(f"{kind}\n{(method_names or {}).get(meth, meth)}", fontsize=7)
    fig.suptitle("red: for c_o, blue: against; each panel scaled to its own largest |attribution|", fontsize=8)
    fig.tight_layout()
    return fig


def baseline_stages(cbases: list, labels: list[str], kinds=("ganmex", "standalone")):
    """Fig. 5A: the baselines of each kind (rows) at every randomisation stage (columns), for one example."""
    fig, axes = plt.subplots(
        len(kinds), len(labels), figsize=(1.1 * len(labels), 1.2 * len(kinds) + 0.3), squeeze=False
    )
    for r, kind in enumerate(kinds):
        for k in range(len(labels)):
            viz.show_image(axes[r, k], cbases[k][kind], labels[k] if r == 0 else None)
        axes[r, 0].set_ylabel(kind, fontsize=7)
    fig.tight_layout()
    return fig
