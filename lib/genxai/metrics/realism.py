"""Realism of generated images: a Frechet distance in *our own classifier's* feature space.

The usual FID needs Inception-v3 weights, which cannot be downloaded here.  We use
torchmetrics' ``FrechetInceptionDistance`` (Heusel et al. 2017, Eq. for d^2 between two
Gaussians) with a custom feature extractor: the penultimate layer of a genxai classifier
trained on the same data.  Numbers are comparable across methods within this package,
not with published Inception FIDs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import check_images


class ClassifierFeatures(nn.Module):
    """Wraps a classifier with a ``features(x)`` method as a torchmetrics feature extractor."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        if not hasattr(classifier, "features"):
            raise TypeError(
                "the classifier needs a features(x) method returning (N, d) embeddings (genxai.models.SmallCNN has one)"
            )
        self.classifier = classifier.eval()
        with torch.no_grad():
            p = next(classifier.parameters())
            c = getattr(classifier, "in_channels", 1)
            s = getattr(classifier, "img_size", 28)
            self.num_features = int(classifier.features(torch.zeros(1, c, s, s, device=p.device)).shape[-1])

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(x)


@torch.no_grad()
def feature_fid(classifier: nn.Module, real: torch.Tensor, fake: torch.Tensor, batch_size: int = 500) -> float:
    """Frechet distance between ``real`` and ``fake`` ([-1, 1] images) in classifier features."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    check_images(real, name="real")
    check_images(fake, name="fake")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("feature_fid needs at least 2 real and 2 generated images")
    device = next(classifier.parameters()).device
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(classifier), reset_real_features=True)
    metric = metric.to(device)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            metric.update(images[i : i + batch_size].to(device), real=is_real)
    return float(metric.compute())
