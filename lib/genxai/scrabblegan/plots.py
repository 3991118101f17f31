"""Figures of the ScrabbleGAN notebooks (images in [-1, 1], ink dark on white; words keep their aspect ratio)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyBboxPatch

from .attention import ink_on_grid

NET_COLOURS = {"G": "#cfe2f3", "D": "#f4cccc", "R": "#d9ead3"}


def mosaic(rows: Sequence[Sequence[torch.Tensor]], gap: int = 4) -> np.ndarray:
    """Rows of images (1, 32, W_i) pasted on white paper with ``gap`` px between them; values in [0, 1]."""
    heights = [max(im.shape[-2] for im in r) for r in rows]
    widths = [sum(im.shape[-1] for im in r) + gap * (len(r) - 1) for r in rows]
    canvas = np.ones((sum(heights) + gap * (len(rows) - 1), max(widths)), np.float32)
    y = 0
    for r, h in zip(rows, heights):
        x = 0
        for im in r:
            a = ((im[0].detach().cpu().float().numpy() + 1) / 2).clip(0, 1)
            canvas[y : y + a.shape[0], x : x + a.shape[1]] = a
            x += a.shape[1] + gap
        y += h + gap
    return canvas


def _show(ax, canvas: np.ndarray) -> None:
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def architecture_figure(stages: Sequence[dict[str, Any]], counts: dict[str, int], text: str):
    """Fig. 5.1 from :func:`genxai.scrabblegan.experiments.trace_architecture`: one lane per network, one box per
    traced stage with its output shape, and how the losses connect them."""
    lanes = ("G", "D", "R")
    n_max = max(sum(s["net"] == net for s in stages) for net in lanes)
    fig, ax = plt.subplots(figsize=(2.3 * n_max + 1.5, 5.2))
    ax.set_xlim(-1.3, 2.3 * n_max)
    ax.set_ylim(-0.6, 3.2)
    ax.axis("off")
    titles = {
        "G": f"G: text {text!r} + z  ({counts['G'] / 1e6:.2f} M)",
        "D": f"D: real or fake, any width  ({counts['D'] / 1e6:.2f} M)",
        "R": f"R: CTC recogniser  ({counts['R'] / 1e6:.2f} M)",
    }
    for row, net in enumerate(lanes):
        y = 2.4 - 1.15 * row
        ax.text(-1.25, y + 0.5, titles[net], fontsize=9, weight="bold", va="bottom")
        boxes = [s for s in stages if s["net"] == net]
        for i, s in enumerate(boxes):
            x = 2.3 * i
            ax.add_patch(
                FancyBboxPatch((x, y - 0.3), 2.0, 0.6, boxstyle="round,pad=0.02", fc=NET_COLOURS[net], ec="0.3")
            )
            shape = " x ".join(str(v) for v in s["shape"])
            ax.text(x + 1.0, y + 0.08, s["stage"], ha="center", va="center", fontsize=6.2, wrap=True)
            ax.text(x + 1.0, y - 0.16, shape, ha="center", va="center", fontsize=6.5, family="monospace")
            if i:
                ax.annotate("", (x, y), (x - 0.3, y), arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.text(
        -1.25,
        -0.5,
        "G's image goes to D (hinge loss) and to R (CTC on the text); D and R also see real words "
        "(R learns from real words only). G's loss: l_adv + a * l_R with a = alpha * std(grad l_adv) / "
        "std(grad l_R), back-propagated once.",
        fontsize=7.5,
    )
    return fig


def word_rows(images: Sequence[torch.Tensor], labels: Sequence[str], title: str = "", scale: float = 0.03):
    """One image per row with its label on the left (samples: one word in several styles, or several words)."""
    canvas = mosaic([[im] for im in images], gap=6)
    h, w = canvas.shape
    fig, ax = plt.subplots(figsize=(max(3.0, w * scale) + 1.2, h * scale + 0.5))
    _show(ax, canvas)
    step = images[0].shape[-2] + 6
    ax.set_yticks([step * i + images[0].shape[-2] / 2 for i in range(len(images))])
    ax.set_yticklabels(labels, fontsize=8)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def pad_width(image: torch.Tensor, width: int) -> torch.Tensor:
    """Right-pad a word image (1, 32, W) with paper to ``width`` columns."""
    return torch.nn.functional.pad(image, (0, width - image.shape[-1]), value=1.0)


def direction_figure(
    blocks: Sequence[Sequence[Sequence[torch.Tensor]]],
    shifts: Sequence[float],
    titles: Sequence[str],
    scale: float = 0.028,
):
    """Figs 6.9/6.10: one panel per direction, rows = texts (their z), columns = shift along the direction.

    ``blocks[d][r][c]``: direction d, text r, shift c, each (1, 32, 16n); shorter words are padded with paper so
    the columns line up."""
    width = max(im.shape[-1] for block in blocks for row in block for im in row)
    canvases = [mosaic([[pad_width(im, width) for im in row] for row in block], gap=5) for block in blocks]
    h = max(c.shape[0] for c in canvases)
    w = max(c.shape[1] for c in canvases)
    fig, axes = plt.subplots(len(blocks), 1, figsize=(w * scale + 0.6, len(blocks) * (h * scale + 0.6)), squeeze=False)
    col_w = width + 5
    for ax, canvas, title in zip(axes[:, 0], canvases, titles):
        _show(ax, canvas)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([col_w * i + width / 2 for i in range(len(shifts))])
        ax.set_xticklabels([f"{s:+.1f}" for s in shifts], fontsize=7)
        ax.tick_params(length=0)
    axes[-1, 0].set_xlabel("shift along the direction", fontsize=8)
    fig.tight_layout()
    return fig


def effect_heatmap(effects: Sequence[dict[str, Any]]):
    """Standardised effect of every direction on width, slant and length, and its CER change (points)."""
    measures = ("width", "slant", "length")
    z = np.array([[e[f"z_{m}"] for m in measures] for e in effects])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(6.5, 0.28 * len(effects) + 1.2), gridspec_kw={"width_ratios": [3, 1]})
    lim = np.nanmax(np.abs(z)) if np.isfinite(z).any() else 1.0
    im = ax.imshow(z, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(3))
    ax.set_xticklabels(["ink width", "slant", "length"], fontsize=8)
    ax.set_yticks(range(len(effects)))
    ax.set_yticklabels([f"dir {e['direction']}: {e['effect']}" for e in effects], fontsize=7)
    for (i, j), v in np.ndenumerate(z):
        ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.05, label="effect / spread across z")
    ax2.barh(range(len(effects)), [e["cer_change"] for e in effects], color="0.5")
    ax2.axvline(5, color="r", lw=0.8, ls="--")
    ax2.set_ylim(len(effects) - 0.5, -0.5)
    ax2.set_yticks([])
    ax2.set_xlabel("CER change (points)", fontsize=8)
    fig.tight_layout()
    return fig


def attention_figure(
    images: torch.Tensor, maps: torch.Tensor, queries: Sequence[Sequence[tuple[int, int]]], scale: float = 0.045
):
    """Fig. 6.11: per row, the word with its queries (green: on the ink, red: off), then each query's map over the
    (16, 16n) grid, stretched to the image, with the ink's outline on top."""
    grid = tuple(maps.shape[-2:])
    on = ink_on_grid(images, grid)
    n_q = max(len(q) for q in queries)
    H, W = images.shape[-2:]
    fig, axes = plt.subplots(
        len(images), n_q + 1, figsize=((n_q + 1) * (W * scale + 0.15), len(images) * (H * scale + 0.35)), squeeze=False
    )
    h, w = grid
    for b in range(len(images)):
        img = ((images[b, 0] + 1) / 2).numpy()
        ax = axes[b, 0]
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        for r, c in queries[b]:
            colour = "lime" if on[b, r, c] else "red"
            ax.plot((c + 0.5) * W / w - 0.5, (r + 0.5) * H / h - 0.5, "o", ms=4, mec="k", mfc=colour)
        ax.set_axis_off()
        for j in range(n_q):
            ax = axes[b, j + 1]
            ax.set_axis_off()
            if j >= len(queries[b]):
                continue
            r, c = queries[b][j]
            m = maps[b, r * w + c].numpy()
            ax.imshow(m, cmap="magma", extent=(-0.5, W - 0.5, H - 0.5, -0.5), interpolation="nearest")
            ax.contour(img, levels=[0.5], colors="cyan", linewidths=0.4)
            ax.plot((c + 0.5) * W / w - 0.5, (r + 0.5) * H / h - 0.5, "x", color="lime" if on[b, r, c] else "red")
            ax.set_title(f"q{j} ({'ink' if on[b, r, c] else 'paper'})", fontsize=6)
    fig.tight_layout()
    return fig


def infogan_figure(cat_grid: torch.Tensor, cont_grid: torch.Tensor, cont_range: float, scale: float = 0.03):
    """The InfoGAN code figure: (a) one word per categorical value (rows) across noise (columns); (b) each
    continuous code swept over [-range, range] with one noise."""
    a = mosaic([list(r) for r in cat_grid], gap=5)
    b = mosaic([list(r) for r in cont_grid], gap=5)
    fig, axes = plt.subplots(
        2,
        1,
        figsize=(max(a.shape[1], b.shape[1]) * scale + 1.2, (a.shape[0] + b.shape[0]) * scale + 1.2),
        gridspec_kw={"height_ratios": [a.shape[0], b.shape[0]]},
    )
    step = cat_grid.shape[-2] + 5
    for ax, canvas, n, label in ((axes[0], a, len(cat_grid), "category"), (axes[1], b, len(cont_grid), "code")):
        _show(ax, canvas)
        ax.set_yticks([step * i + step / 2 - 2.5 for i in range(n)])
        ax.set_yticklabels([f"{label} {i}" for i in range(n)], fontsize=7)
        ax.tick_params(length=0)
    axes[0].set_title("(a) categorical code: rows = value, columns = noise", fontsize=8)
    n = cont_grid.shape[1]
    col = cont_grid.shape[-1] + 5
    axes[1].set_xticks([col * i + col / 2 - 2.5 for i in range(n)])
    axes[1].set_xticklabels([f"{v:+.1f}" for v in np.linspace(-cont_range, cont_range, n)], fontsize=7)
    axes[1].set_title("(b) continuous codes swept (one noise)", fontsize=8)
    fig.tight_layout()
    return fig
