"""A GANMEX generator whose critic judges (almost) the whole image at once.

The StarGAN critic GANMEX builds on (PatchGAN) scores patches; at 128 px its six stride-2 levels give every score a
field of view of most of the image.  :class:`~.networks.Critic`, sized for 28 px, has two levels: each score sees an
18 x 18 px patch of a 28 px digit, so the generator may paint strokes that look right patch by patch (the bars over
MNIST inputs that our classifier accepts and the independent judge does not).  One more level gives every score a
field of view of 38 x 38 px, the whole digit: what the critic rejects is then the digit, not a patch.

This is a subclass of :class:`~.gan.GANMEXConfig` in its own module, so the generators that keep the two-level
critic (the colour task, BAM-like, the ablations) keep their cached weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .gan import GANMEXConfig, GANMEXModel


class WholeImageCritic(nn.Module):
    """PatchGAN D_src with ``levels`` stride-2 convolutions (width doubling per level) and an optional D_cls head;
    returns (src scores (N,), class logits or None) like :class:`~.networks.Critic`."""

    def __init__(self, channels: int, img_size: int, dim: int = 32, n_classes: int | None = None, levels: int = 3):
        super().__init__()
        if levels < 1:
            raise ValueError(f"levels must be at least 1, got {levels}")
        side = img_size
        for _ in range(levels):
            side = (side + 2 - 4) // 2 + 1  # a 4x4 convolution, stride 2, padding 1
            if side < 1:
                raise ValueError(f"{levels} stride-2 levels leave nothing of a {img_size} px image: use fewer levels")
        layers, c = [], channels
        for i in range(levels):
            layers += [nn.Conv2d(c, dim * 2**i, 4, 2, 1), nn.LeakyReLU(0.01)]
            c = dim * 2**i
        self.trunk = nn.Sequential(*layers)
        self.src = nn.Conv2d(c, 1, 3, padding=1)
        self.cls = nn.Conv2d(c, n_classes, side) if n_classes else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.trunk(x)
        src = self.src(h).mean(dim=(1, 2, 3))
        cls = self.cls(h).flatten(1) if self.cls is not None else None
        return src, cls


@dataclass
class WholeImageCriticGANMEXConfig(GANMEXConfig):
    """:class:`~.gan.GANMEXConfig` with a :class:`WholeImageCritic` of ``critic_levels`` levels."""

    critic_levels: int = 3

    def build(self) -> GANMEXModel:
        model = super().build()
        test = self.classifier.data("test")
        c, h, _ = test.shape
        critic = WholeImageCritic(c, h, self.dim, test.n_classes if self.standalone else None, self.critic_levels)
        return GANMEXModel(model.generator, critic)
