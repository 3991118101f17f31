"""A BAM-like benchmark built offline (GANMEX Table 1; BAM: Yang & Kim 2019).

Objects are Fashion-MNIST items ("trouser", "bag"; their pixels give the object mask) pasted
onto procedural scenes of two texture families ("stripes": oriented sine gratings, "checker":
checkerboards), each with random frequency, phase and colours; by default (``palette="family"``)
the two families also differ in colour range (stripes green, checker brown), as BAM's real scenes
(bamboo forest, bedroom) differ in colour as well as texture.  With colours shared by both families
(``palette="shared"``, our first version) the cpu-profile classifier learnt the object (97%) but
stayed at chance on the scene (50.4%), which made Table 1's "different scene" row meaningless.
Every (object, scene) pair is a class, as GANMEX's 4-class pizza/stop-sign x bamboo-forest/bedroom subset of
BAM.  Images are 32x32 RGB; the object's side is 12-16 px (between 1/3 and 1/2 of the scene, as BAM), at a random
position.  ``extra["mask"]`` (N, H, W) bool holds the ground-truth object mask.  Seeded by split;
a few thousand images take a few seconds.

Objects are pasted opaquely by default (``paste="opaque"``), as BAM pastes segmented COCO objects
over its scenes: inside the mask the scene is replaced by the glyph shaded over a neutral grey
(``BACKING``).  Our first version blended the glyph over the scene with the glyph's intensity as
alpha (``paste="alpha"``), so the scene's colour showed through the object's darker pixels and
the object region carried the scene label.  Classifiers then read the scene partly off the object,
and GANMEX, asked to change only the scene, tinted the object as well (Table 1's "different
scene" row; studies/ganmex.md).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from . import ImageSet, fashion_mnist, register

OBJECTS = {"trouser": 1, "bag": 8}  # Fashion-MNIST class indices
SCENES = ("stripes", "checker")
SIZE = 32
MASK_ALPHA = 0.25  # glyph intensity above which a pixel belongs to the object (its ground-truth mask)
BACKING = -0.4  # neutral grey under an opaque object: the same for every scene, so it carries no scene cue
PASTES = ("opaque", "alpha")


# palette="family": each scene family has its own colour range, as BAM's scenes differ in colour
# as well as texture (bamboo forest: greens, bedroom: warm browns); RGB lower corners of the boxes
# [low, low + 0.5) from which the two texture colours are drawn (darkish, so a light object stands out).
FAMILY_LOW = {
    "stripes": ((-0.95, -0.45, -0.95), (-0.75, -0.05, -0.75)),  # dark / light green
    "checker": ((-0.35, -0.90, -0.95), (-0.05, -0.55, -0.85)),
}  # dark / light brown


def _scene(kind: str, g: torch.Generator, palette: str = "family") -> torch.Tensor:
    """One procedural scene (3, SIZE, SIZE) in [-1, 1].

    ``palette="shared"``: both families draw colours from the same range (texture is the only
    cue; our small classifiers then fail to learn the scene at all, see docs); ``"family"``:
    family-specific colour ranges (``FAMILY_LOW``).
    """
    yy, xx = torch.meshgrid(
        torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32), indexing="ij"
    )
    if palette == "shared":
        c1 = torch.rand(3, generator=g) * 1.0 - 0.9  # darkish colours so a light object stands out
        c2 = torch.rand(3, generator=g) * 1.0 - 0.7
    elif palette == "family":
        lo1, lo2 = (torch.tensor(v) for v in FAMILY_LOW[kind])
        c1 = lo1 + 0.5 * torch.rand(3, generator=g)
        c2 = lo2 + 0.5 * torch.rand(3, generator=g)
    else:
        raise ValueError(f"palette must be 'family' or 'shared', not {palette!r}")
    if kind == "stripes":
        theta = float(torch.rand(1, generator=g)) * math.pi
        period = 4 + float(torch.rand(1, generator=g)) * 6
        phase = float(torch.rand(1, generator=g)) * 2 * math.pi
        t = 0.5 * (1 + torch.sin(2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta)) / period + phase))
    else:
        cell = int(torch.randint(3, 7, (1,), generator=g))
        ox, oy = (int(v) for v in torch.randint(0, cell, (2,), generator=g))
        t = ((((xx + ox) // cell) + ((yy + oy) // cell)) % 2).float()
    return c1[:, None, None] + (c2 - c1)[:, None, None] * t[None]


def paste_object(
    scene: torch.Tensor, alpha: torch.Tensor, tint: torch.Tensor, row: int, col: int, paste: str = "opaque"
) -> torch.Tensor:
    """Paste a glyph (``alpha`` (s, s) in [0, 1], colour ``tint`` (3,)) onto ``scene`` at (row, col), in place.

    Returns the object mask (SIZE, SIZE) bool.  ``"opaque"``: inside the mask the pixels depend on
    the glyph and tint only (BAM's pasted objects); ``"alpha"``: the glyph is blended over the
    scene, which then shows through the object's darker pixels.
    """
    if paste not in PASTES:
        raise ValueError(f"paste must be one of {PASTES}, not {paste!r}")
    side = alpha.shape[-1]
    region = scene[:, row : row + side, col : col + side]
    inside = alpha > MASK_ALPHA
    if paste == "alpha":
        region[:] = alpha * tint[:, None, None] + (1 - alpha) * region
    else:
        region[:] = torch.where(inside, alpha * tint[:, None, None] + (1 - alpha) * BACKING, region)
    mask = torch.zeros(scene.shape[-2:], dtype=torch.bool)
    mask[row : row + side, col : col + side] = inside
    return mask


def generate(
    split: str, n: int, seed: int = 0, palette: str = "family", paste: str = "opaque"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` images, labels (object * 2 + scene) and masks; objects from Fashion-MNIST ``split``."""
    if paste not in PASTES:
        raise ValueError(f"paste must be one of {PASTES}, not {paste!r}")
    images_u8, labels, _ = fashion_mnist.load_raw(split)
    pools = {name: np.nonzero(labels == idx)[0] for name, idx in OBJECTS.items()}
    g = torch.Generator().manual_seed(seed * 7919 + (0 if split == "train" else 1))
    n_cls = len(OBJECTS) * len(SCENES)
    y = torch.arange(n) % n_cls
    y = y[torch.randperm(n, generator=g)]
    images = torch.empty(n, 3, SIZE, SIZE)
    masks = torch.zeros(n, SIZE, SIZE, dtype=torch.bool)
    names = list(OBJECTS)
    for i in range(n):
        obj, scene = int(y[i]) // len(SCENES), int(y[i]) % len(SCENES)
        img = _scene(SCENES[scene], g, palette)
        pool = pools[names[obj]]
        glyph = (
            torch.tensor(images_u8[pool[int(torch.randint(len(pool), (1,), generator=g))]], dtype=torch.float32) / 255
        )
        side = int(torch.randint(12, 17, (1,), generator=g))
        alpha = F.interpolate(
            glyph[None, None], size=(side, side), mode="bilinear", align_corners=False, antialias=True
        )[0, 0].clamp(0, 1)
        r, c = (int(v) for v in torch.randint(0, SIZE - side + 1, (2,), generator=g))
        tint = 0.6 + 0.4 * torch.rand(3, generator=g)  # light, slightly tinted object
        masks[i] = paste_object(img, alpha, tint, r, c, paste)
        images[i] = img
    return images.clamp(-1, 1), y.long(), masks


@register("bam_like")
def load(split: str, n: int | None = None, seed: int = 0, palette: str = "family", paste: str = "opaque") -> ImageSet:
    """``n`` defaults to 4000 (train) / 1000 (test); ``palette`` as :func:`_scene`, ``paste`` as
    :func:`paste_object`."""
    n = n or (4000 if split == "train" else 1000)
    images, labels, masks = generate(split, n, seed, palette, paste)
    classes = tuple(f"{o}-{s}" for o in OBJECTS for s in SCENES)
    return ImageSet(
        images,
        labels,
        classes,
        "bam_like",
        split,
        f"procedural scenes ({palette} palette) + Fashion-MNIST objects pasted {paste} (seed {seed})",
        {"mask": masks},
    )


def pair_kind(c_o: int, c_t: int) -> str:
    """'different object' (same scene), 'different scene' (same object) or 'both'."""
    same_obj = c_o // len(SCENES) == c_t // len(SCENES)
    same_scene = c_o % len(SCENES) == c_t % len(SCENES)
    return (
        "different scene"
        if same_obj and not same_scene
        else ("different object" if same_scene and not same_obj else "both" if c_o != c_t else "same")
    )
