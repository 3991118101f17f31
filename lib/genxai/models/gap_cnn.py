"""A CNN ending in global *average* pooling: evidence is averaged over the whole image.

For GANMEX's Table 1 on our BAM-like benchmark.  With :class:`~genxai.models.classifiers.SmallCNN`
(a dense layer over the last feature map) the GANMEX generator turned one scene into the other by
painting a small patch of the new texture next to the object, and the classifier accepted it: its scene
decision could be bought locally, so IG put the "different scene" attribution near the object.  Averaging
the features over all positions (as the ResNets usually trained on BAM do) makes a scene decision rest on
the whole background.  :class:`~genxai.models.concept_cnn.ConceptCNN` with its max pool swapped for an
average pool; its own file and cache family, so the other classifiers' cache keys are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .concept_cnn import ConceptClassifierConfig, ConceptCNN


class GAPCNN(ConceptCNN):
    """:class:`ConceptCNN` with ``AdaptiveAvgPool2d(1)`` as its global pool."""

    def __init__(self, in_channels: int = 3, n_classes: int = 2, width: int = 16, hidden: int = 64,
                 dropout: float = 0.1):
        super().__init__(in_channels, n_classes, width, hidden, dropout)
        pool = [i for i, m in enumerate(self.body) if isinstance(m, nn.AdaptiveMaxPool2d)]
        self.body[pool[-1]] = nn.AdaptiveAvgPool2d(1)


@dataclass
class GAPClassifierConfig(ConceptClassifierConfig):
    """:class:`GAPCNN` trained exactly like :class:`~genxai.models.classifiers.ClassifierConfig`."""

    family = "gap_classifier"

    pool: str = "avg"   # global pooling of the last feature map; a field so configs of this family never
                        # serialise like a SmallCNN's (GANMEX configs embed their classifier's config)

    def build(self) -> nn.Module:
        if self.pool != "avg":
            raise ValueError(f"GAPClassifierConfig pools by average only, got pool={self.pool!r}")
        test = self.data("test")
        return GAPCNN(in_channels=test.shape[0], n_classes=test.n_classes, width=self.width)
