"""The standard classifiers of each profile, shared by every paper notebook.

Settings live in ``profiles/foundation.json`` (key ``classifiers``); a paper that explains
"the MNIST classifier" asks for it here, so every notebook explains the same cached model.
"""

from __future__ import annotations

import torch

from .. import profiles
from .cache import CachedModel, get_or_train
from .classifiers import ClassifierConfig


def classifier_config(dataset: str, profile: str, **overrides) -> ClassifierConfig:
    table = profiles.get("foundation", profile).classifiers
    if dataset not in table:
        raise KeyError(
            f"no standard classifier for {dataset!r} in profile {profile!r}; "
            f"known: {sorted(table)} (or build a ClassifierConfig yourself)"
        )
    return ClassifierConfig(dataset=dataset, **{**table[dataset], **overrides})


def standard_classifier(
    dataset: str, profile: str, device: str | torch.device = "cpu", progress: bool = True, **overrides
) -> CachedModel:
    """The cached standard classifier for ``dataset`` in ``profile`` (trained on first use)."""
    return get_or_train(classifier_config(dataset, profile, **overrides), device=device, progress=progress)
