"""The image-set container every loader returns, and the pixel-convention converters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..guards import check_images  # noqa: F401  (the one input guard, re-exported as genxai.data.check_images)


class DataMissingError(FileNotFoundError):
    """A data set's files are not on disk; the message names the command that fetches them."""


class DataCorruptError(ValueError):
    """A data file is on disk but truncated or altered; the message names the file and the command that repairs it."""


def from_uint8(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images (N,H,W) or (N,H,W,C) or (N,C,H,W) -> float32 NCHW in [-1, 1]."""
    x = torch.from_numpy(np.array(array, copy=True)) if not isinstance(array, torch.Tensor) else array
    if x.dtype != torch.uint8:
        raise TypeError(f"from_uint8 expects uint8 pixels, got {x.dtype}")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.permute(0, 3, 1, 2)
    return x.float().div(127.5).sub(1.0).contiguous()


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1] (the library's convention)."""
    return x * 2.0 - 1.0


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clamped, for display and PNG export."""
    return ((x + 1.0) / 2.0).clamp(0.0, 1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] NCHW -> uint8 NHWC (for PNG files)."""
    return (to_unit(x) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(
        x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-1]
    ).clamp(-1.0, 1.0)


def _take_rows(value, index: torch.Tensor, n: int):
    """Per-item extras (a tensor or a table with one row per image) follow the images; others stay whole."""
    if isinstance(value, torch.Tensor) and len(value) == n:
        return value[index]
    if hasattr(value, "iloc") and len(value) == n:  # a pandas table of per-image attributes
        return value.iloc[index.numpy()].reset_index(drop=True)
    return value


@dataclass
class ImageSet(torch.utils.data.Dataset):
    """Images in the library's convention with integer labels.

    Fields: ``images`` float32 (N, C, H, W) in [-1, 1]; ``labels`` int64 (N,);
    ``classes`` the class names; ``source`` says which files the data came from.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str
    split: str
    source: str
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def take(self, index: Sequence[int] | torch.Tensor, split: str | None = None) -> ImageSet:
        index = torch.as_tensor(index, dtype=torch.long)
        extra = {k: _take_rows(v, index, len(self)) for k, v in self.extra.items()}
        return ImageSet(
            self.images[index], self.labels[index], self.classes, self.name, split or self.split, self.source, extra
        )

    def subset(self, n: int | None, seed: int = 0) -> ImageSet:
        """A seeded random subset of ``n`` items (all of them when ``n`` is None or too large)."""
        if n is None or n >= len(self):
            return self
        g = torch.Generator().manual_seed(seed)
        return self.take(torch.randperm(len(self), generator=g)[:n].sort().values)

    def of_class(self, c: int) -> ImageSet:
        return self.take(torch.nonzero(self.labels == c).flatten())

    def first_of_each_class(self) -> ImageSet:
        """One item per class (the first in order): the papers' 'one image per class' protocol."""
        idx = [int(torch.nonzero(self.labels == c)[0]) for c in range(self.n_classes) if (self.labels == c).any()]
        return self.take(idx)

    def loader(
        self, batch_size: int, shuffle: bool = False, seed: int = 0, drop_last: bool = False
    ) -> torch.utils.data.DataLoader:
        g = torch.Generator().manual_seed(seed)
        return torch.utils.data.DataLoader(
            self, batch_size=batch_size, shuffle=shuffle, generator=g, drop_last=drop_last
        )


def seeded_split(n: int, n_test: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed train/test split of ``range(n)`` for sources that ship none."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    return perm[n_test:].sort().values, perm[:n_test].sort().values
