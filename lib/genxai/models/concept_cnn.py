"""A CNN with global max pooling, for "is there some part with X" concepts (the trains' tasks).

The trains concepts are existential or universal statements over wagons ("some passenger car and
some reinforced car", "every wagon empty") wherever the wagons sit in the image.  :class:`SmallCNN`
flattens a 16 x 16 feature map into a dense layer, which has to learn each concept again at every
position; here three conv blocks end in a global max pool (one "is it anywhere" score per feature),
and a small dense layer combines those scores (and, or, not).  The same training recipe as
:class:`~genxai.models.classifiers.ClassifierConfig`; a separate file and cache family, so the other
classifiers' cache keys are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .classifiers import ClassifierConfig


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class ConceptCNN(nn.Module):
    """(conv-conv-pool) x 2, conv-conv, global max pool, fc-fc (each conv followed by BatchNorm and ReLU);
    ``features()`` = penultimate layer."""

    def __init__(self, in_channels: int = 3, n_classes: int = 2, width: int = 16, hidden: int = 64,
                 dropout: float = 0.1):
        super().__init__()
        self.in_channels, self.n_classes = in_channels, n_classes
        w = width
        # BatchNorm after every conv: without it this plain six-conv stack never left its constant
        # start on TypeA (train loss 0.693 and test accuracy 0.50 for three epochs, cpu profile)
        conv = _conv_bn_relu
        self.body = nn.Sequential(
            *conv(in_channels, w), *conv(w, w),
            nn.MaxPool2d(2),
            *conv(w, 2 * w), *conv(2 * w, 2 * w),
            nn.MaxPool2d(2),
            *conv(2 * w, 4 * w), *conv(4 * w, 4 * w),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(4 * w, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class ConceptClassifierConfig(ClassifierConfig):
    """:class:`ConceptCNN` trained exactly like :class:`ClassifierConfig` (Adam, cosine lr, augmentation)."""

    family = "concept_classifier"

    def build(self) -> nn.Module:
        test = self.data("test")
        return ConceptCNN(in_channels=test.shape[0], n_classes=test.n_classes, width=self.width)
