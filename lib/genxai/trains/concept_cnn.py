"""A CNN with global max pooling, for "is there some part with X" concepts (the trains' tasks).

The trains concepts are existential or universal statements over wagons ("some passenger car and
some reinforced car", "every wagon empty") wherever the wagons sit in the image.  :class:`SmallCNN`
flattens a 16 x 16 feature map into a dense layer, which has to learn each concept again at every
position; here three conv blocks end in a global max pool (one "is it anywhere" score per feature),
and a small dense layer combines those scores (and, or, not).  The same training recipe as
:class:`~genxai.models.classifiers.ClassifierConfig` except the augmentation (whole-pixel shifts, see
:meth:`ConceptClassifierConfig.augment`); a separate cache family.

``space_to_depth = k`` puts a lossless stem in front (``nn.PixelUnshuffle``: every k x k block of pixels
becomes k*k channels), so trains rendered at k times the resolution keep their k-times-larger cargo
shapes while every conv runs on a map of the smaller size (the TypeA evidence, cargo shapes a few pixels
across, needs the resolution; docs/trains.md gives the accuracies).

``aux_concepts`` adds auxiliary concept heads: sigmoid outputs on the penultimate features, trained with
binary cross-entropy on columns of the data set's per-image attribute table (the trains' ontology
concepts, as the XTRAINS CSV ships them).  They only shape training; ``forward`` still returns the task's
logits alone, so the classifier explained downstream is the plain binary one.  Why: trained on TypeA
labels alone, the network settles on "empty or reinforced -> TypeA" (right for 92 % of trains) and the
circle cargo that decides the remaining 8 % gets almost no gradient; a PassengerCar head gives that
signal on every image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..models.classifiers import ClassifierConfig, accuracy, random_shift


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class ConceptCNN(nn.Module):
    """[space-to-depth], (conv-conv-pool) x 2, conv-conv, global max pool, fc-fc (each conv followed by
    BatchNorm and ReLU); ``features()`` = penultimate layer."""

    def __init__(
        self,
        in_channels: int = 3,
        n_classes: int = 2,
        width: int = 16,
        hidden: int = 64,
        dropout: float = 0.1,
        space_to_depth: int = 1,
        n_aux: int = 0,
    ):
        super().__init__()
        if not isinstance(space_to_depth, int) or space_to_depth < 1:
            raise ValueError(f"space_to_depth must be a positive int (1: no stem), got {space_to_depth!r}")
        self.in_channels, self.n_classes, self.space_to_depth = in_channels, n_classes, space_to_depth
        self.stem = nn.PixelUnshuffle(space_to_depth) if space_to_depth > 1 else nn.Identity()
        w = width
        # BatchNorm after every conv: without it this plain six-conv stack never left its constant
        # start on TypeA (train loss 0.693 and test accuracy 0.50 for three epochs, cpu profile)
        conv = _conv_bn_relu
        self.body = nn.Sequential(
            *conv(in_channels * space_to_depth**2, w),
            *conv(w, w),
            nn.MaxPool2d(2),
            *conv(w, 2 * w),
            *conv(2 * w, 2 * w),
            nn.MaxPool2d(2),
            *conv(2 * w, 4 * w),
            *conv(4 * w, 4 * w),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(4 * w, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, n_classes)
        # auxiliary concept logits (training only; forward() never returns them)
        self.aux = nn.Linear(hidden, n_aux) if n_aux else None
        # channels-last convs: on 2 CPU cores at 128 px (TypeA) training steps ran 1.1-1.55x and inference 1.6x
        # faster than in the default layout (benchmarks/trains_concept_cnn.py, two runs)
        self.to(memory_format=torch.channels_last)

    #: Largest batch one inference pass runs (eval mode, no gradient): at 128 px the feature maps of a 512-image
    #: batch (130 MB a layer) no longer fit the CPU caches, and the callers that score whole test sets
    #: (``accuracy``, ``predict_logits``) pass 512 at a time; 64-image chunks are 3x faster per image (same
    #: benchmark).
    EVAL_CHUNK = 64

    def features(self, x: torch.Tensor) -> torch.Tensor:
        k = self.space_to_depth
        if x.shape[-1] % k or x.shape[-2] % k:
            raise ValueError(
                f"image size {tuple(x.shape[-2:])} is not a multiple of space_to_depth={k}: "
                f"render the images at a multiple of {k} px or lower space_to_depth"
            )
        if not self.training and not torch.is_grad_enabled() and len(x) > self.EVAL_CHUNK:
            return torch.cat([self.features(chunk) for chunk in x.split(self.EVAL_CHUNK)])
        return self.fc(self.body(self.stem(x).contiguous(memory_format=torch.channels_last)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class ConceptClassifierConfig(ClassifierConfig):
    """:class:`ConceptCNN` trained like :class:`ClassifierConfig` (Adam, cosine lr), with whole-pixel shifts."""

    family = "trains_concept_classifier"

    max_rotate: float = 0.0  # must stay 0: this classifier is augmented by whole-pixel shifts only
    space_to_depth: int = 1  # lossless k x k space-to-depth stem (ConceptCNN); image size must divide by it
    aux_concepts: list[str] = field(default_factory=list)  # attribute-table columns learnt by auxiliary heads
    aux_weight: float = 1.0  # weight of the heads' binary cross-entropy beside the task's cross-entropy
    monitor_n: int | None = 2000  # test images scored after each epoch (None: all); the final score uses all

    def __post_init__(self):
        if self.max_rotate:
            raise ValueError(
                f"ConceptClassifierConfig augments by whole-pixel shifts only (max_shift), "
                f"got max_rotate={self.max_rotate}: set max_rotate=0.0"
            )
        if isinstance(self.aux_concepts, str):
            raise TypeError(f"aux_concepts must be a list of column names, got the string {self.aux_concepts!r}")
        self.aux_concepts = list(self.aux_concepts)

    def aux_targets(self, images) -> torch.Tensor:
        """(N, len(aux_concepts)) float 0/1 targets from the data set's attribute table."""
        table = images.extra.get("table") if isinstance(images.extra, dict) else None
        if table is None:
            raise ValueError(
                f"aux_concepts needs a data set with a per-image attribute table (extra['table']), "
                f"as the trains have; {self.dataset!r} has none: set aux_concepts=[]"
            )
        if len(table) != len(images):
            raise ValueError(
                f"the attribute table has {len(table)} rows for {len(images)} images: "
                f"it must hold one row per image, in order"
            )
        missing = [c for c in self.aux_concepts if c not in table.columns]
        if missing:
            raise ValueError(
                f"aux_concepts {missing} are not columns of the attribute table; choose from {sorted(table.columns)}"
            )
        return torch.as_tensor(table[self.aux_concepts].to_numpy().astype("float32"))

    def epoch_test_acc(self, model: nn.Module, test) -> float:
        """Accuracy on the first ``monitor_n`` test images (a random sample: the trains come shuffled).

        Why: the cpu profile's TypeA test set has as many images (12,000 at 128 px) as an epoch trains on,
        so scoring all of them after every epoch adds a forward pass over a whole epoch's worth of images."""
        n = self.monitor_n
        return accuracy(model, test.images[:n], test.labels[:n])

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, train, idx: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the task's logits + ``aux_weight`` x BCE of the concept heads."""
        if not self.aux_concepts:
            return super().loss(model, x, y, train, idx)
        h = model.features(x)
        target = self.aux_targets(train)[idx].to(x.device)
        return F.cross_entropy(model.head(h), y) + self.aux_weight * F.binary_cross_entropy_with_logits(
            model.aux(h), target
        )

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """Random translation by whole pixels (up to ``max_shift``), nothing resampled.

        The trains concepts turn on cargo shapes a few pixels across (circle = passengers).  The
        affine augmentation of the other classifiers resamples each image bilinearly (+-10 % scale,
        sub-pixel shifts), which smooths those shapes in training only: the test images are never
        resampled.  Whole-pixel shifts keep the shapes intact at the same cost.
        """
        return random_shift(x, self.max_shift)

    def build(self) -> nn.Module:
        test = self.data("test")
        if self.aux_concepts:
            self.aux_targets(test)  # fail before training when a column is missing
        return ConceptCNN(
            in_channels=test.shape[0],
            n_classes=test.n_classes,
            width=self.width,
            space_to_depth=self.space_to_depth,
            n_aux=len(self.aux_concepts),
        )
