"""Digit strings written with real MNIST digits, in ScrabbleGAN's geometry (height 32, 16 px per character).

Each string has 1-8 digits (uniform).  Every digit is cut to its ink columns, scaled to a jittered height
(22-30 px) and width (10-17 px), shifted up/down a little and placed at 16·i plus a horizontal jitter, so
neighbours overlap by a few pixels as in connected handwriting; overlapping ink is merged by taking the darker
pixel.  Ink is dark on white paper (as IAM's words).  Strings of the ``train`` split are built from MNIST's
training digits only and those of ``test`` from its test digits, so no test digit is seen in training.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from . import mnist
from ._text import CHAR_WIDTH, HEIGHT, Alphabet, TextSet

ALPHABET = Alphabet("0123456789")
MAX_DIGITS = 8
DEFAULT_N = {"train": 20_000, "test": 2_000}


def _digit_glyph(img28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit (white on black, 28x28) -> dark-on-white ink cut to its columns, jitter-scaled."""
    cols = np.nonzero(img28.max(0) > 30)[0]
    rows = np.nonzero(img28.max(1) > 30)[0]
    if len(cols) == 0:  # an empty digit cannot occur in MNIST, but keep the glyph well defined
        cols, rows = np.arange(10, 18), np.arange(4, 24)
    crop = img28[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h = int(rng.integers(22, 31))
    aspect = crop.shape[1] / crop.shape[0]
    w = int(np.clip(round(h * aspect * rng.uniform(0.8, 1.2)), 4, 17))
    glyph = Image.fromarray(crop).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(glyph, dtype=np.float32) / 255.0  # ink amount in [0, 1]


def compose(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Place MNIST digits side by side on a (32, 16n) white canvas; returns uint8 (255 = paper)."""
    n = len(digits)
    ink = np.zeros((HEIGHT, CHAR_WIDTH * n), dtype=np.float32)
    for i, d in enumerate(digits):
        g = _digit_glyph(d, rng)
        gh, gw = g.shape
        cx = CHAR_WIDTH * i + CHAR_WIDTH / 2 + rng.uniform(-2.0, 2.0)
        x0 = int(round(cx - gw / 2))
        y0 = int(np.clip((HEIGHT - gh) // 2 + rng.integers(-2, 3), 0, HEIGHT - gh))
        xs, xe = max(x0, 0), min(x0 + gw, ink.shape[1])
        ink[y0 : y0 + gh, xs:xe] = np.maximum(ink[y0 : y0 + gh, xs:xe], g[:, xs - x0 : xe - x0])
    return np.round(255.0 * (1.0 - ink)).astype(np.uint8)


@lru_cache(maxsize=4)
def _build(split: str, n: int, seed: int) -> TextSet:
    images, labels, source = mnist.load_raw(split)
    # the split's own seed stream: train and test never share one, whatever `seed`
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    pixels, texts = [], []
    for _ in range(n):
        k = int(rng.integers(1, MAX_DIGITS + 1))
        pick = rng.integers(0, len(labels), size=k)
        pixels.append(compose([images[j] for j in pick], rng))
        texts.append("".join(str(int(labels[j])) for j in pick))
    return TextSet(pixels, texts, ALPHABET, "digit_strings", split, f"strings of 1-{MAX_DIGITS} digits from {source}")


def load(split: str = "train", n: int | None = None, seed: int = 0) -> TextSet:
    """``n`` seeded digit strings (default 20,000 train / 2,000 test) from MNIST's ``split``."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    if n is not None and n < 1:
        raise ValueError(f"n must be a positive number of strings, got {n}")
    return _build(split, int(n or DEFAULT_N[split]), int(seed))
