"""The CelebA-HQ part (Figs. 10/11): user-supplied generator, classifier and face images.

No CelebA-HQ data or ProGAN weights can be downloaded here, so this path runs only when the
user provides them:

* ``generator``: a ``.py`` file defining ``load_generator() -> nn.Module`` mapping z (B, nz) to
  (B, 3, H, W) in [-1, 1] (with an ``nz`` attribute), e.g. a ProGAN wrapper at 256 px;
* ``classifier``: a ``.py`` file defining ``load_classifier()`` or a TorchScript ``.pt``; it
  returns logits for [-1, 1] images (e.g. the authors' smiling ResNet-18);
* ``images``: a folder of face images (png/jpg), resized to ``size``.

:func:`load_user_setup` returns ``(setup, missing)``; ``setup`` is None and ``missing`` says what
to supply when anything is absent, so the notebook skips cleanly.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import check_images, from_uint8

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class UserSetup:
    generator: nn.Module
    classifier: nn.Module
    images: torch.Tensor  # (N, 3, size, size) in [-1, 1]
    names: list[str]


def _load_py(path: Path, fn: str):
    spec = importlib.util.spec_from_file_location(f"genxai_user_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, fn):
        raise AttributeError(f"{path} must define {fn}()")
    return getattr(mod, fn)()


def load_images(folder: Path, size: int, limit: int | None = None) -> tuple[torch.Tensor, list[str]]:
    from PIL import Image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    arr = [np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BILINEAR)) for p in files]
    x = from_uint8(np.stack(arr).transpose(0, 3, 1, 2)) if arr else torch.empty(0, 3, size, size)
    return x, [p.name for p in files]


def load_user_setup(
    generator: str | None, classifier: str | None, images: str | None, size: int = 256, limit: int | None = None
) -> tuple[UserSetup | None, list[str]]:
    missing = []
    if not generator or not Path(generator).is_file():
        missing.append(f"generator module (a .py with load_generator()): got {generator!r}")
    if not classifier or not Path(classifier).is_file():
        missing.append(f"classifier (.py with load_classifier() or TorchScript .pt): got {classifier!r}")
    if not images or not Path(images).is_dir():
        missing.append(f"image folder of faces (png/jpg): got {images!r}")
    elif not any(p.suffix.lower() in IMAGE_SUFFIXES for p in Path(images).iterdir()):
        missing.append(f"image folder {images!r} holds no png/jpg files")
    if missing:
        return None, missing
    G = _load_py(Path(generator), "load_generator").eval()
    cpath = Path(classifier)
    C = (_load_py(cpath, "load_classifier") if cpath.suffix == ".py" else torch.jit.load(str(cpath))).eval()
    x, names = load_images(Path(images), size, limit)
    check_images(x, channels=3, name="face images")
    with torch.no_grad():
        g = G(torch.randn(2, getattr(G, "nz", 512)))
    if g.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"generator makes {tuple(g.shape[1:])} images but the faces are {tuple(x.shape[1:])}: "
            f"set size to the generator's resolution"
        )
    return UserSetup(G, C, x, names), []
