"""Independent judges: one classifier per data set that no generator ever sees.

A generator trained against (or steered by) a classifier can convince that classifier with patterns no person would
call an image of the class.  The judge is a second opinion: another architecture (batch-normalised convolutions,
strided downsampling and global average pooling, where the standard :class:`~genxai.models.SmallCNN` has plain
convolutions, max pooling and a flattening MLP), another seed, trained on real images only.  It must never be used
to train or steer a generator or to search anchors; tests check that no other model config's code reaches this
module.  Its penultimate features define the realism score of :func:`genxai.metrics.realism.realism`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch
from torch import nn

from .. import profiles
from .cache import CachedModel, get_or_train
from .classifiers import ClassifierConfig


def _block(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    ]


class JudgeNet(nn.Module):
    """conv5-BN, strided conv-BN, conv-BN, strided conv-BN, global average pool, fc; ``features()`` is the fc."""

    def __init__(
        self, in_channels: int = 1, n_classes: int = 10, img_size: int = 28, width: int = 24, feature_dim: int = 64
    ):
        super().__init__()
        self.in_channels, self.n_classes, self.img_size = in_channels, n_classes, img_size
        w = width
        self.body = nn.Sequential(
            *_block(in_channels, w, 5, 1),
            *_block(w, 2 * w, 3, 2),
            *_block(2 * w, 2 * w, 3, 1),
            *_block(2 * w, 4 * w, 3, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(nn.Linear(4 * w, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class JudgeConfig(ClassifierConfig):
    """A :class:`JudgeNet` trained like the standard classifiers (Adam, cross-entropy, augmentation) on real data.

    The training loop is :class:`ClassifierConfig`'s; only the network, the seed and the cache family differ.
    """

    family = "judge"

    seed: int = 1  # the standard classifiers use 0
    feature_dim: int = 64  # penultimate features: the realism score's embedding (small, so that Frechet
    # distances of a few hundred images are well defined)

    def build(self) -> nn.Module:
        test = self.data("test")
        c, h, _ = test.shape
        return JudgeNet(
            in_channels=c, n_classes=test.n_classes, img_size=h, width=self.width, feature_dim=self.feature_dim
        )


def judge_config(dataset: str, profile: str, **overrides) -> JudgeConfig:
    """The judge of ``dataset`` in ``profile`` (settings: ``profiles/foundation.json``, key ``judges``)."""
    table = profiles.get("foundation", profile).judges
    if dataset not in table:
        raise KeyError(f"no judge for {dataset!r} in profile {profile!r}; known: {sorted(table)}")
    settings = {**table[dataset], **overrides}
    if dataset == "trains":
        # the renders' version is part of the key, like every trains model's; imported by name so that the judges
        # of other data sets do not carry the trains renderer in their keys (a trains judge's key covers it
        # through its dataset)
        renderer = importlib.import_module("genxai.data.trains").RENDERER
        settings["data_kwargs"] = {**settings.get("data_kwargs", {}), "renderer": renderer}
    return JudgeConfig(dataset=dataset, **settings)


def standard_judge(
    dataset: str, profile: str, device: str | torch.device = "cpu", progress: bool = True, **overrides
) -> CachedModel:
    """The cached judge for ``dataset`` in ``profile`` (trained on first use, on real training images only)."""
    return get_or_train(judge_config(dataset, profile, **overrides), device=device, progress=progress)
