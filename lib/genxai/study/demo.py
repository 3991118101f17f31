"""A procedural generator with known attributes, for trying the study app and for its tests.

:class:`ShapeGenerator` draws a soft ellipse whose position, size, brightness and elongation are
set by the latent coordinates, so each unit direction is one clean, nameable change.  It follows the
:class:`~genxai.gan_xai.protocol.LatentGenerator` protocol, so :func:`~genxai.study.make_items.latent_animations`
makes items from it exactly as from a trained GAN.  :func:`demo_items` writes a two-group study.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .make_items import latent_animations, write_items

#: What each latent coordinate of ShapeGenerator controls.
ATTRIBUTES = ("horizontal position", "vertical position", "size", "brightness", "elongation")


class ShapeGenerator:
    latent_dim = len(ATTRIBUTES)

    def __init__(self, size: int = 32):
        self.size = size

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator) * 0.4

    def sample_condition(self, n: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        return {}

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Images (N, 1, size, size) in [-1, 1]."""
        t = torch.tanh(z)
        cx, cy = 0.45 * t[:, 0], 0.45 * t[:, 1]
        radius = 0.3 + 0.2 * t[:, 2]
        brightness = 0.6 + 0.4 * t[:, 3]
        stretch = torch.exp(0.7 * t[:, 4])
        axis = torch.linspace(-1.0, 1.0, self.size)
        yy, xx = torch.meshgrid(axis, axis, indexing="ij")
        dx = (xx[None] - cx[:, None, None]) / (radius * stretch)[:, None, None]
        dy = (yy[None] - cy[:, None, None]) / (radius / stretch)[:, None, None]
        inside = torch.sigmoid((1.0 - torch.sqrt(dx**2 + dy**2)) / 0.08)
        return (-1.0 + 2.0 * brightness[:, None, None] * inside)[:, None].float()

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """Logits of a two-class "classifier": is the shape's centre of mass left (0) or right (1)?"""
        weight = (images + 1.0).clamp_min(0).sum((1, 2))
        xs = torch.linspace(-1.0, 1.0, images.shape[-1])
        centre = (weight * xs).sum(1) / weight.sum(1).clamp_min(1e-6)
        return torch.stack([-centre, centre], 1) * 10


def demo_items(
    out_dir: str | Path,
    n_images: int = 4,
    shift: float = 2.5,
    seed: int = 0,
    groups: tuple[tuple[str, tuple[int, ...]], ...] = (("shapes A", (0, 2, 3)), ("shapes B", (1, 4))),
    scale: int = 4,
) -> Path:
    """Write a study on :class:`ShapeGenerator` (one group per entry of ``groups``); returns items.json."""
    G = ShapeGenerator()
    animations = []
    for g, (group, coords) in enumerate(groups):
        directions = {ATTRIBUTES[c]: torch.eye(G.latent_dim)[c] for c in coords}
        animations += latent_animations(G, directions, n_images, shift, seed=seed + g, classify=G.classify, group=group)
    return write_items(out_dir, animations, title="Which change is it? (demo shapes)", seed=seed, scale=scale)


def shape_features(images: torch.Tensor) -> torch.Tensor:
    """Hand-made features of the demo shapes (centre x, y; area; peak brightness; x- minus y-spread).

    A stand-in for an independent judge's features when the machine observer is tried on the demo.
    """
    mass = (images[:, 0] + 1.0).clamp_min(0) / 2.0  # (N, H, W) in [0, 1]
    axis = torch.linspace(-1.0, 1.0, images.shape[-1])
    total = mass.sum((1, 2)).clamp_min(1e-6)
    cx = (mass.sum(1) * axis).sum(1) / total
    cy = (mass.sum(2) * axis).sum(1) / total
    vx = (mass.sum(1) * axis**2).sum(1) / total - cx**2
    vy = (mass.sum(2) * axis**2).sum(1) / total - cy**2
    area = (mass > 0.1).float().mean((1, 2))
    peak = mass.flatten(1).max(1).values
    return torch.stack([cx, cy, area * 4, peak, (vx - vy) * 8], 1)
