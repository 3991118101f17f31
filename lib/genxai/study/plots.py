"""Figures of a study's analysis: Table 2 with the published human rows beside ours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .analysis import MACHINE

_COLOURS = {"published": "#9a9a9a", "human": "#3b6ea8", MACHINE: "#d9822b"}


def table2_figure(table: pd.DataFrame, chance: float = 0.5, title: str = "Classification study (Table 2)"):
    """Horizontal bars, mean accuracy ± SD across questions: published human rows in grey, this study's human rows
    in blue, machine-observer rows in orange with a hatch and "(machine, not human)" in their label, so that an
    automatic score cannot be read as a human result.  ``table``: :func:`genxai.study.analysis.table2` rows (extra
    machine rows may be appended with the same columns)."""
    rows = table.reset_index(drop=True)
    kind = [
        "published" if "(published)" in str(src) else (MACHINE if obs == MACHINE else "human")
        for src, obs in zip(rows["source"], rows["observer"])
    ]
    labels = [
        f"{d} | {s}" + (" (machine, not human)" if k == MACHINE and "machine" not in str(s) else "")
        for d, s, k in zip(rows["data set / model"], rows["source"], kind)
    ]
    y = np.arange(len(rows))[::-1]
    fig, ax = plt.subplots(figsize=(9.5, 0.9 + 0.42 * len(rows)))
    for yi, (acc, sd, k) in zip(y, zip(rows["accuracy"], rows["sd"], kind)):
        ax.barh(yi, acc, color=_COLOURS[k], hatch="//" if k == MACHINE else None, edgecolor="black", linewidth=0.5)
        if np.isfinite(sd):
            ax.errorbar(acc, yi, xerr=sd, color="black", capsize=3, linewidth=0.8)
        ax.text(min(acc + (sd if np.isfinite(sd) else 0) + 0.02, 1.02), yi, f"{acc:.2f}", va="center", fontsize=8)
    ax.axvline(chance, color="crimson", linestyle="--", linewidth=1)
    ax.text(chance + 0.01, -0.6, "chance", color="crimson", fontsize=8, ha="left", va="bottom")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_ylim(-0.7, y.max() + 0.6)
    ax.set_xlabel("accuracy (mean ± SD)")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=_COLOURS[k], hatch="//" if k == MACHINE else None, ec="black")
        for k in ("published", "human", MACHINE)
        if k in kind
    ]
    names = {"published": "humans, published", "human": "humans, this study", MACHINE: "machine observer (not human)"}
    ax.legend(
        handles,
        [names[k] for k in ("published", "human", MACHINE) if k in kind],
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=3,
        frameon=False,
    )
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
