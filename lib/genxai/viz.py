"""Figure helpers: every function takes tensors/arrays and returns a matplotlib Figure.

Images are in the library's [-1, 1] convention; conversion for display happens here.
Save figures with :meth:`genxai.recorder.RunRecorder.savefig` (one ``savefig`` for all).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .data import to_uint8, to_unit


def to_display(x: torch.Tensor) -> np.ndarray:
    """One image (C, H, W) in [-1, 1] -> (H, W) or (H, W, 3) in [0, 1] for imshow."""
    x = to_unit(x.detach().cpu().float())
    return x[0].numpy() if x.shape[0] == 1 else x.permute(1, 2, 0).numpy()


def show_image(ax, x: torch.Tensor, title: str | None = None) -> None:
    img = to_display(x)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=8)


def image_grid(
    images: torch.Tensor,
    nrow: int | None = None,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    cell: float = 1.0,
    suptitle: str | None = None,
):
    """A grid of images (N, C, H, W), ``nrow`` images per row."""
    n = len(images)
    ncol = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(rows, ncol, figsize=(cell * ncol, cell * rows + (0.3 if suptitle else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            show_image(ax, images[i], titles[i] if titles else None)
        else:
            ax.axis("off")
    if row_labels:
        for r, label in enumerate(row_labels[:rows]):
            axes[r, 0].set_ylabel(label, fontsize=8)
    if col_labels:
        for c, label in enumerate(col_labels[:ncol]):
            axes[0, c].set_title(label, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def saliency_overlay(
    ax,
    image: torch.Tensor,
    saliency: torch.Tensor,
    title: str | None = None,
    signed: bool = True,
    alpha: float = 0.65,
    lim: float | None = None,
) -> None:
    """An attribution map (H, W) or (C, H, W) over a faded copy of the image.

    Colours run from -``lim`` (blue) to ``lim`` (red); ``lim`` defaults to this map's own largest |value|.
    """
    s = saliency.detach().cpu().float()
    if s.ndim == 3:
        s = s.sum(0)
    img = to_display(image)
    grey = img if img.ndim == 2 else img.mean(-1)
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1, alpha=0.35)
    lim = lim or float(s.abs().max()) or 1.0
    ax.imshow(s.numpy(), cmap="bwr" if signed else "hot", vmin=-lim if signed else 0, vmax=lim, alpha=alpha)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def curves(
    xs: Sequence,
    series: dict[str, Sequence[float]],
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    size=(4.5, 3.0),
):
    fig, ax = plt.subplots(figsize=size)
    for name, ys in series.items():
        ax.plot(list(xs)[: len(ys)], list(ys), marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def png_bytes(img: torch.Tensor, size: int | None = None) -> bytes:
    """One image (C, H, W) in [-1, 1] as PNG bytes, enlarged to ``size`` px (nearest neighbour) if given."""
    import io

    from PIL import Image

    arr = to_uint8(img[None])[0]
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if size:
        scale = size / max(pil.size)
        pil = pil.resize((round(pil.width * scale), round(pil.height * scale)), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="png")
    return buf.getvalue()


def save_gif(frames, path, duration_ms: int | Sequence[int] = 250, scale: int = 1, loop: int = 0):
    """Write an animated GIF of ``frames`` (T, C, H, W) or (T, H, W) in [-1, 1], atomically.

    ``duration_ms`` is one display time for every frame or one per frame; ``scale`` enlarges
    each pixel to a ``scale`` x ``scale`` block (small generated images stay sharp in a browser);
    ``loop=0`` repeats forever.  Returns the path.
    """
    from pathlib import Path

    from PIL import Image

    from .repro import atomic_path

    frames = torch.as_tensor(frames).detach().cpu().float()
    if frames.ndim == 3:
        frames = frames[:, None]
    if frames.ndim != 4 or frames.shape[1] not in (1, 3) or len(frames) == 0:
        raise ValueError(f"frames must be (T, C, H, W) with C = 1 or 3 and T >= 1, got {tuple(frames.shape)}")
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    durations = [duration_ms] * len(frames) if isinstance(duration_ms, int) else list(duration_ms)
    if len(durations) != len(frames) or min(durations) <= 0:
        raise ValueError(f"duration_ms must be a positive int or one per frame ({len(frames)}), got {duration_ms!r}")
    pixels = to_uint8(frames)  # (T, H, W, C) uint8
    mode = "L" if pixels.shape[-1] == 1 else "RGB"
    images = [Image.fromarray(p[..., 0] if mode == "L" else p, mode) for p in pixels]
    if scale > 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in images]
    path = Path(path)
    with atomic_path(path) as tmp:
        # disposal=1: each frame is drawn whole over the last (no transparency tricks between frames)
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=loop,
            disposal=1,
            optimize=False,
        )
    return path
