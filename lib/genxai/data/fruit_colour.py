"""A binary colour task standing in for apple2orange (GANMEX Fig. 4).

Two classes that differ *only by colour*: a shaded elliptical "fruit" in apple red or orange on a
smooth random green-brown background.  Shapes, sizes, positions and backgrounds are drawn from the
same distribution for both classes, so a good saliency map should cover the whole fruit (its colour),
not its edges and not the background.  32x32 RGB; ``extra["mask"]`` (N, H, W) bool is the fruit.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import ImageSet, register

CLASSES = ("apple", "orange")
COLOURS = torch.tensor([[0.80, 0.10, 0.12], [0.98, 0.55, 0.05]])  # RGB in [0, 1]
SIZE = 32


def generate(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    # background: smooth noise between dark green and brown
    noise = F.avg_pool2d(torch.rand(n, 1, SIZE + 8, SIZE + 8, generator=g), 9, stride=1)
    noise = (noise - noise.amin((2, 3), keepdim=True)) / (
        noise.amax((2, 3), keepdim=True) - noise.amin((2, 3), keepdim=True) + 1e-6
    )
    green, brown = torch.tensor([0.15, 0.45, 0.15]), torch.tensor([0.45, 0.35, 0.2])
    bg = green[None, :, None, None] + (brown - green)[None, :, None, None] * noise
    yy, xx = torch.meshgrid(
        torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32), indexing="ij"
    )
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=g)[:, None, None]
    cy, cx, ry, rx = u(10, 22), u(10, 22), u(6, 10), u(6, 10)
    th = u(0, math.pi)
    dy, dx = yy[None] - cy, xx[None] - cx
    a = (dx * torch.cos(th) + dy * torch.sin(th)) / rx
    b = (-dx * torch.sin(th) + dy * torch.cos(th)) / ry
    r2 = a**2 + b**2
    mask = r2 <= 1
    colour = COLOURS[y] + 0.06 * (torch.rand(n, 3, generator=g) * 2 - 1)
    shade = (1.05 - 0.35 * r2.clamp(max=1))[:, None]  # brighter centre, darker rim
    fruit = (colour[:, :, None, None] * shade).clamp(0, 1)
    img = torch.where(mask[:, None], fruit, bg)
    return (img * 2 - 1).float(), y.long(), mask


@register("fruit_colour")
def load(split: str, n: int | None = None, seed: int = 0) -> ImageSet:
    """``n`` defaults to 4000 (train) / 1000 (test); train and test use different seeds."""
    n = n or (4000 if split == "train" else 1000)
    images, labels, mask = generate(n, seed * 2 + (0 if split == "train" else 1))
    return ImageSet(
        images, labels, CLASSES, "fruit_colour", split, f"procedural red/orange fruits (seed {seed})", {"mask": mask}
    )
