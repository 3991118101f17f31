"""Figures of GANchors (Figs. 1/2/4, 6/7, 8, 9): each function takes images and explanations, returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import viz


def show_anchor(ax, image: torch.Tensor, exp, title: str | None = None) -> None:
    """``image`` with everything outside the anchor's superpixels dimmed."""
    A = exp.mask()
    shown = image.clone()
    shown[:, A == 0] = shown[:, A == 0] * 0.3 - 0.7
    viz.show_image(ax, shown, title)


def stitching_vs_gan(image: torch.Tensor, exp, samples: dict[str, torch.Tensor]):
    """Figs. 1/2/4: the anchor (dimmed outside it), then perturbations of each sampler, one row per sampler."""
    k = len(next(iter(samples.values())))
    fig, axes = plt.subplots(len(samples), k + 1, figsize=(1.6 * (k + 1), 1.7 * len(samples) + 0.2), squeeze=False)
    for row, (name, x) in enumerate(samples.items()):
        show_anchor(axes[row, 0], image, exp, f"anchor {exp.features}" if row == 0 else None)
        axes[row, 0].set_ylabel(name, fontsize=8)
        for j in range(k):
            viz.show_image(axes[row, j + 1], x[j], f"sample {j + 1}" if row == 0 else None)
    fig.tight_layout()
    return fig


def anchor_comparison(images: torch.Tensor, kept: list, methods: list[str], not_run_note: str = "", title: str = ""):
    """Fig. 8: the anchor each sampler found (columns) for each explained image (rows), with precision p and size.

    A panel without an anchor says why: the sampler did not run on that image (``not_run_note``).
    """
    rows = sorted({i for _, i, _ in kept})
    fig, axes = plt.subplots(
        len(rows), len(methods), figsize=(2 * len(methods), 2.1 * len(rows)), squeeze=False, layout="constrained"
    )
    for a, i in enumerate(rows):
        for b, meth in enumerate(methods):
            found = [e for mm, ii, e in kept if mm == meth and ii == i]
            ax = axes[a, b]
            if found:
                e = found[0]
                show_anchor(ax, images[i], e, f"{meth}\np={e.result.precision:.2f} |A|={e.result.size}")
            else:
                ax.set_title(meth, fontsize=8)
                ax.text(0.5, 0.5, f"not run\non this image\n{not_run_note}", ha="center", va="center", fontsize=7)
                ax.set_xticks([])
                ax.set_yticks([])
        axes[a, 0].set_ylabel(f"image {i}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)  # constrained layout keeps it clear of the panel titles
    return fig


def encoder_outputs(picks: list, title: str):
    """Figs. 6/7: per row, a masked input (outside the mask black) and the generator's images of the encoder's
    latents for it."""
    grid = torch.cat([torch.cat([p[1][None], p[2]]) for p in picks])
    n = 1 + len(picks[0][2])
    titles = ["masked input"] + [f"G(z_{k + 1})" for k in range(n - 1)]
    return viz.image_grid(grid, nrow=n, col_labels=titles, suptitle=title)


def thresholds(rows: list[torch.Tensor], xis: list[float], title: str):
    """Fig. 9: GAN perturbations of one anchor, one row per threshold xi (looser thresholds allow more change)."""
    return viz.image_grid(torch.cat(rows), nrow=len(rows[0]), row_labels=[f"xi = {xi:g}" for xi in xis], suptitle=title)
