"""Data sets in one pixel convention: float32 (N, C, H, W) in [-1, 1] (see :mod:`genxai`).

``load(name, split="train", size=None, n=None)`` is the one entry point.  Every loader
module registers itself with :func:`register`; modules of this package are imported on
first use, so a new loader needs no list edited anywhere.

>>> from genxai import data
>>> train = data.load("mnist", "train")
>>> train.images.shape, train.source
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import numpy as np
import torch

from .base import (
    DataCorruptError,
    DataMissingError,
    ImageSet,
    check_images,
    from_uint8,
    from_unit,
    resize,
    seeded_split,
    to_uint8,
    to_unit,
)
from .sampling import balanced_indices

__all__ = [
    "DataCorruptError",
    "DataMissingError",
    "ImageSet",
    "available",
    "balanced_indices",
    "check_images",
    "from_uint8",
    "from_unit",
    "load",
    "register",
    "resize",
    "seeded_split",
    "to_uint8",
    "to_unit",
]

SPLITS = ("train", "test")
_REGISTRY: dict[str, Callable[..., ImageSet]] = {}


def register(name: str):
    """Decorator: ``@register("bam_like")`` on ``def load(split, **kw) -> ImageSet``."""

    def deco(fn: Callable[..., ImageSet]) -> Callable[..., ImageSet]:
        _REGISTRY[name] = fn
        return fn

    return deco


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def available() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def load(
    name: str, split: str = "train", size: int | None = None, n: int | None = None, seed: int = 0, **kwargs
) -> ImageSet:
    """Load data set ``name``'s ``split``, resized to ``size`` px, a seeded subset of ``n``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {SPLITS}")
    if name not in _REGISTRY:
        _discover()
    if name not in _REGISTRY:
        raise KeyError(f"unknown data set {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    ds = _REGISTRY[name](split, **kwargs)
    ds = ds.subset(n, seed=seed)
    if size is not None:
        ds = ImageSet(resize(ds.images, size), ds.labels, ds.classes, ds.name, ds.split, ds.source, ds.extra)
    return ds


def _from_raw(name: str, split: str, images: np.ndarray, labels: np.ndarray, classes, source: str, **extra) -> ImageSet:
    return ImageSet(
        from_uint8(images),
        torch.as_tensor(labels, dtype=torch.long),
        tuple(classes),
        name,
        split,
        source,
        {k: torch.as_tensor(v) for k, v in extra.items()},
    )


@register("mnist")
def _mnist(split: str) -> ImageSet:
    from . import mnist

    images, labels, source = mnist.load_raw(split)
    return _from_raw("mnist", split, images, labels, mnist.CLASSES, source)


@register("fashion_mnist")
def _fashion(split: str) -> ImageSet:
    from . import fashion_mnist

    images, labels, source = fashion_mnist.load_raw(split)
    return _from_raw("fashion_mnist", split, images, labels, fashion_mnist.CLASSES, source)


@register("digits")
def _digits(split: str) -> ImageSet:
    from . import digits

    images, labels, source = digits.load_raw(split)
    return _from_raw("digits", split, images, labels, digits.CLASSES, source)


@register("colored_mnist")
def _colored(split: str, labels: str = "digit") -> ImageSet:
    from . import colored_mnist, mnist

    images, y, source, channel = colored_mnist.load_raw(split, labels)
    classes = mnist.CLASSES if labels == "digit" else colored_mnist.COLOR_CLASSES
    return _from_raw("colored_mnist", split, images, y, classes, source, color=channel)
