"""scikit-learn's 8x8 digits (1,797 images, 16 grey levels): tiny and always available.

No official split: a fixed seeded 1,497/300 train/test split.
"""

from __future__ import annotations

import numpy as np

from .base import seeded_split

CLASSES = tuple(str(d) for d in range(10))
TEST_SIZE = 300


def load_raw(split: str) -> tuple[np.ndarray, np.ndarray, str]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images / 16.0 * 255).astype(np.uint8)
    train_idx, test_idx = seeded_split(len(images), TEST_SIZE, seed=0)
    idx = (train_idx if split == "train" else test_idx).numpy()
    return images[idx], bunch.target[idx].astype(np.int64), "scikit-learn load_digits (8x8, seeded split)"
