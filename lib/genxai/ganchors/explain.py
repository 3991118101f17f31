"""Image anchors: segment, wrap a sampler as the search's ``sample_fn``, search, evaluate.

Coverage samples are uniform 0/1 superpixel vectors with the anchor set (as in the authors'
code): coverage is a property of the segmentation, not of the sampler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..guards import check_classifier_inputs
from ..models import predict_logits
from .samplers import Sampler
from .search import AnchorResult, SearchConfig, anchor_beam
from .segmentation import Segmentation, quickshift_k


@dataclass
class Explanation:
    result: AnchorResult
    segmentation: Segmentation
    target: int  # predicted class of the explained image
    seconds: float  # wall time of the whole explanation (segmentation included, as the authors timed)
    n_samples: int  # labelled perturbations drawn

    @property
    def features(self) -> list[int]:
        return self.result.features

    def mask(self) -> torch.Tensor:
        from .segmentation import anchor_mask

        return anchor_mask(self.segmentation.labels, self.result.features)


class AnchorImage:
    """Anchors for one classifier and one perturbation sampler (captum-like ``attribute``)."""

    def __init__(
        self,
        classifier: nn.Module,
        sampler: Sampler,
        segmenter: Callable[[torch.Tensor], Segmentation] = quickshift_k,
        config: SearchConfig | None = None,
        seed: int = 0,
    ):
        self.classifier = classifier.eval()
        self.sampler = sampler
        self.segmenter = segmenter
        self.config = config or SearchConfig()
        self.rng = np.random.default_rng(seed)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return predict_logits(self.classifier, images).argmax(1)

    def sample_fn(self, target: int):
        counter = {"n": 0}

        def fn(features, n, compute_labels=True):
            if not compute_labels:
                data = self.rng.integers(0, 2, (n, self.sampler.n_features))
                data[:, list(features)] = 1
                return data, None
            images, present = self.sampler.sample(list(features), n)
            labels = (self.predict(images) == target).numpy().astype(np.int64)
            counter["n"] += n
            return present.astype(np.int64), labels

        return fn, counter

    def explain(self, image: torch.Tensor, target: int | None = None) -> Explanation:
        """Anchor of ``image`` ((C, H, W) in [-1, 1]) for class ``target`` (default: the prediction)."""
        check_classifier_inputs(self.classifier, image[None], name="image")
        start = time.perf_counter()
        seg = self.segmenter(image)
        self.sampler.bind(image, seg.labels)
        if target is None:
            target = int(self.predict(image[None])[0])
        fn, counter = self.sample_fn(target)
        res = anchor_beam(fn, self.config)
        return Explanation(res, seg, target, time.perf_counter() - start, counter["n"])

    def attribute(self, inputs: torch.Tensor, target=None) -> torch.Tensor:
        """Captum-style: (N, 1, H, W) 0/1 anchor masks for a batch of images."""
        targets = (
            [None] * len(inputs)
            if target is None
            else (
                [int(target)] * len(inputs)
                if np.isscalar(target) or (torch.is_tensor(target) and target.ndim == 0)
                else [int(t) for t in target]
            )
        )
        return torch.stack([self.explain(x, t).mask()[None] for x, t in zip(inputs, targets)])


def independent_precision(
    classifier: nn.Module,
    sampler: Sampler,
    image: torch.Tensor,
    segments: np.ndarray,
    features,
    target: int,
    n: int = 200,
) -> float:
    """Precision of an anchor on ``n`` fresh samples of ``sampler`` (not the search's estimate)."""
    check_classifier_inputs(classifier, image[None], name="image")
    sampler.bind(image, segments)
    images, _ = sampler.sample(list(features), n)
    return float((predict_logits(classifier, images).argmax(1) == target).float().mean())
