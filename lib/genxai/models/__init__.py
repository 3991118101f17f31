"""Models: the classifier zoo, generator families, and the checkpoint cache."""

from __future__ import annotations

import torch
from torch import nn

from .cache import CachedModel, ModelConfig, cache_key, get_or_train, is_cached, load_cached  # noqa: F401
from .classifiers import ClassifierConfig, SmallCNN, accuracy, predict_logits  # noqa: F401


def ensure_logits(model: nn.Module, example: torch.Tensor) -> None:
    """Raise if ``model`` looks like it returns probabilities instead of logits.

    Attribution methods and steering losses need logits (a softmax output saturates the
    gradients and makes log-losses wrong).  The check: every row non-negative and summing
    to 1 on a small batch.
    """
    with torch.no_grad():
        out = model(example[:8])
    if out.ndim != 2:
        raise ValueError(f"classifier must return (N, n_classes) logits, got shape {tuple(out.shape)}")
    if (out >= 0).all() and torch.allclose(out.sum(1), torch.ones(len(out), dtype=out.dtype), atol=1e-4):
        raise ValueError("the classifier returns probabilities (rows are non-negative and sum to 1), "
                         "but logits are needed: remove the final softmax layer")
from .zoo import classifier_config, standard_classifier  # noqa: E402,F401
