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


def _class_matched_pair(
    claimed: torch.Tensor, pool_labels: torch.Tensor, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint index sets into the real pool, each with exactly the class counts of ``claimed``."""
    g = torch.Generator().manual_seed(seed)
    first, second = [], []
    for c, k in zip(*torch.unique(claimed, return_counts=True)):
        idx = torch.nonzero(pool_labels == c).flatten()
        if len(idx) < 2 * k:
            raise ValueError(
                f"the real pool has {len(idx)} images of class {int(c)}, but {int(k)} generated images claim it: "
                f"the score and its real-vs-real floor need 2 x {int(k)} = {2 * int(k)} held-out real images of "
                f"that class; pass a larger real pool or fewer generated images (n=)"
            )
        idx = idx[torch.randperm(len(idx), generator=g)]
        first.append(idx[:k])
        second.append(idx[k : 2 * k])
    return torch.cat(first), torch.cat(second)


@torch.no_grad()
def realism(
    judge: nn.Module,
    fake: torch.Tensor,
    claimed: torch.Tensor | int,
    real_images: torch.Tensor,
    real_labels: torch.Tensor,
    n: int | None = None,
    seed: int = 0,
) -> dict[str, float | int]:
    """Frechet distance of generated images to held-out real images of the classes they claim, with its floor.

    ``fd``: :func:`feature_fid` in the judge's penultimate features between ``n`` of the generated images and ``n``
    real images drawn with the same class counts as their claimed labels.  ``floor``: the same distance between
    that real sample and a second, disjoint real sample with the same class counts.  A Frechet distance estimated
    from few images is biased upwards, so only ``fd`` next to ``floor`` at the same ``n`` says how far from real the
    generated images are.

    Args:
        judge: a classifier with ``features(x)`` that never trained or steered the generator
            (:func:`genxai.models.judges.standard_judge`).
        fake: generated images, [-1, 1] NCHW.
        claimed: the class each generated image claims to be (a tensor of N labels, or one int for all).
        real_images, real_labels: the held-out real pool (e.g. the test split the judge never trained on).
        n: score a seeded random ``n`` of the generated images (default: all of them).
        seed: seeds both draws.
    """
    check_images(fake, name="fake")
    check_images(real_images, name="real_images")
    claimed = torch.full((len(fake),), claimed) if isinstance(claimed, int) else torch.as_tensor(claimed).long()
    real_labels = torch.as_tensor(real_labels).long()
    if len(claimed) != len(fake) or len(real_labels) != len(real_images):
        raise ValueError(
            f"{len(fake)} generated images with {len(claimed)} claimed labels, {len(real_images)} real images with "
            f"{len(real_labels)} labels: give one label per image"
        )
    n = len(fake) if n is None else int(n)
    if not 2 <= n <= len(fake):
        raise ValueError(f"n={n} must lie between 2 and the {len(fake)} generated images given")
    if 2 * n > len(real_images):
        raise ValueError(
            f"n={n} needs 2 x {n} held-out real images (the score and its real-vs-real floor), the pool has "
            f"{len(real_images)}: lower n to at most {len(real_images) // 2} or pass a larger pool"
        )
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(fake), generator=g)[:n].sort().values
    fake, claimed = fake[pick], claimed[pick]
    first, second = _class_matched_pair(claimed, real_labels, seed)
    reference = real_images[first]
    return {
        "fd": feature_fid(judge, reference, fake),
        "floor": feature_fid(judge, reference, real_images[second]),
        "n": n,
    }


@torch.no_grad()
def judge_agreement(judge: nn.Module, images: torch.Tensor, claimed: torch.Tensor | int) -> float:
    """The share of ``images`` that the judge assigns to the class each one claims (argmax of its logits)."""
    from ..models.classifiers import predict_logits

    check_images(images, name="images")
    claimed = torch.full((len(images),), claimed) if isinstance(claimed, int) else torch.as_tensor(claimed).long()
    if len(claimed) != len(images) or len(images) == 0:
        raise ValueError(f"{len(images)} images and {len(claimed)} claimed labels: give one label per image (N >= 1)")
    return float((predict_logits(judge, images).argmax(1) == claimed.cpu()).float().mean())
