"""Coloured MNIST with the GANMEX authors' rule (see shared notes, ganmex.md).

The grey digit goes into exactly one of the R, G, B channels, chosen by the sum of its
uint8 pixel values modulo 3; the other channels stay black (-1).  ``labels="digit"``
keeps the 10 digit labels (the authors' released MNIST classifier); ``labels="color"``
uses the 3 colour classes.
"""

from __future__ import annotations

import numpy as np

from . import mnist

COLOR_CLASSES = ("red", "green", "blue")


def colour_index(images_u8: np.ndarray) -> np.ndarray:
    """Channel of each digit: sum of its uint8 pixels mod 3 (0=R, 1=G, 2=B)."""
    return (images_u8.reshape(len(images_u8), -1).astype(np.int64).sum(axis=1) % 3).astype(np.int64)


def colourise(images_u8: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> (N, H, W, 3) uint8 with the digit in ``channel`` only."""
    out = np.zeros(images_u8.shape + (3,), dtype=np.uint8)
    out[np.arange(len(images_u8)), :, :, channel] = images_u8
    return out


def load_raw(split: str, labels: str = "digit") -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    if labels not in ("digit", "color"):
        raise ValueError(f"labels must be 'digit' or 'color', got {labels!r}")
    images, digits, source = mnist.load_raw(split)
    channel = colour_index(images)
    rgb = colourise(images, channel)
    return rgb, (digits if labels == "digit" else channel), f"coloured ({source})", channel
