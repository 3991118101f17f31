"""Loaders for user-supplied SVHN and CIFAR-10 files (GANMEX's other data sets; ``paper`` profile).

Nothing is downloaded.  Put the official files under ``genxai.paths.raw_dir(...)``:

* SVHN (cropped digits): ``raw/svhn/train_32x32.mat`` and ``raw/svhn/test_32x32.mat``
  (MATLAB files with ``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1), label 10 meaning digit 0);
* CIFAR-10 (python version): ``raw/cifar10/cifar-10-batches-py/data_batch_1..5`` and
  ``test_batch`` (pickles with ``data`` (N, 3072) uint8, channel-major, and ``labels``).
"""

from __future__ import annotations

import pickle

import numpy as np

from .. import paths
from . import _from_raw, register
from .base import DataMissingError

SVHN_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@register("svhn")
def load_svhn(split: str):
    from scipy.io import loadmat

    f = paths.raw_dir("svhn") / f"{split}_32x32.mat"
    if not f.exists():
        raise DataMissingError(
            f"SVHN file {f} is missing: download {f.name} from http://ufldl.stanford.edu/housenumbers/ and put it there"
        )
    mat = loadmat(f)
    images = np.ascontiguousarray(mat["X"].transpose(3, 0, 1, 2)).astype(np.uint8)  # (N, H, W, 3)
    labels = mat["y"].reshape(-1).astype(np.int64) % 10  # 10 -> 0
    return _from_raw("svhn", split, images, labels, SVHN_CLASSES, str(f))


@register("cifar10")
def load_cifar10(split: str):
    folder = paths.raw_dir("cifar10") / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise DataMissingError(
            f"CIFAR-10 files {missing} missing in {folder}: extract "
            "cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html) there"
        )
    data, labels = [], []
    for n in names:
        with open(folder / n, "rb") as fh:
            d = pickle.load(fh, encoding="bytes")
        data.append(np.asarray(d[b"data"], dtype=np.uint8))
        labels.extend(d[b"labels"])
    images = np.concatenate(data).reshape(-1, 3, 32, 32)
    return _from_raw("cifar10", split, images, np.asarray(labels, dtype=np.int64), CIFAR10_CLASSES, str(folder))
