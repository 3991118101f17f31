"""Fashion-MNIST (Xiao et al. 2017): 60,000 train / 10,000 test, 28x28 grey, 10 classes.

Read from ``data/raw/fashion_mnist/`` (filled by ``make data`` from the Debian package
``dataset-fashion-mnist`` or a system copy; user-supplied IDX files work the same way).
"""

from __future__ import annotations

import numpy as np

from . import fetch
from .base import DataMissingError
from .mnist import _split_files, load_idx_split

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_raw(split: str) -> tuple[np.ndarray, np.ndarray, str]:
    for folder in (fetch.fashion_dir(), fetch.FASHION_SYSTEM_DIR):
        files = _split_files(folder, split)
        if all(files):
            for f in files:  # the fetched files are checked against their sha256; user-supplied ones by reading
                if f.name in fetch.FASHION_SHA256:
                    fetch.check_file(f, fetch.FASHION_SHA256[f.name], "fashion_mnist")
            images, labels = load_idx_split(str(folder), split, "fashion_mnist")
            return images, labels, f"Fashion-MNIST IDX files in {folder}"
    raise DataMissingError(
        "Fashion-MNIST is not available. Run `make data` (downloads the Debian package "
        f"{fetch.FASHION_DEB_PACKAGE} with `apt-get download`, no root needed), or put the IDX "
        f"files (train-images-idx3-ubyte.gz, ...) into {fetch.fashion_dir()}."
    )
