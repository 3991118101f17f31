"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", eq. 1) on
an AlexNet trunk, from user-supplied weights: the perceptual term of StylEx's reconstruction loss in the ``paper``
profile.

    d(x, x0) = sum_l 1 / (H_l W_l) sum_{h,w} sum_c w_{l,c} (ŷ_l[c,h,w] - ŷ0_l[c,h,w])^2

where ŷ_l are the trunk's activations after ReLU l (l = 1..5), each unit-normalised over channels, and w_l >= 0
the learned per-channel weights (a 1x1 convolution without bias; eq. 1's w_l, squared, as the official code
stores them).  Inputs are in the library's [-1, 1]
convention and are shifted/scaled channel-wise to the trunk's ImageNet statistics first (the ``ScalingLayer`` of
LPIPS v0.1; v0.0 skipped it, a bug its authors fixed).

Why hand-written: the maintained implementations (the ``lpips`` package, torchmetrics'
``LearnedPerceptualImagePatchSimilarity``) build the trunk with torchvision and download its weights from a hub
at first use; this project has neither torchvision nor network access at run time.  The module below keeps
torchvision's layer indices so that its AlexNet state dict loads unchanged.

User files (both in :func:`weights_dir`, ``data/raw/lpips/`` by default):

* ``alexnet-owt-7be5be79.pth``: torchvision's ImageNet AlexNet (keys ``features.<i>.weight|bias``; the
  ``classifier.*`` keys are ignored);
* ``alex.pth``: LPIPS v0.1's linear layers (keys ``lin<l>.model.1.weight``, shape ``(1, C_l, 1, 1)``), shipped in
  the ``lpips`` package under ``lpips/weights/v0.1/``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from .. import paths

TRUNK_FILE = "alexnet-owt-7be5be79.pth"
LINEAR_FILE = "alex.pth"
#: channels after ReLU 1..5 of AlexNet
CHANNELS = (64, 192, 384, 256, 256)
#: index in ``features`` of the ReLU closing each of the five slices (torchvision's AlexNet layout)
_TAPS = (1, 4, 7, 9, 11)
#: LPIPS v0.1's ScalingLayer: ImageNet statistics expressed for inputs in [-1, 1]
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def weights_dir() -> Path:
    return paths.raw_dir("lpips")


def _alexnet_features() -> nn.Sequential:
    """torchvision's ``alexnet().features`` (without the last max-pool, which LPIPS never reaches)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(192, 384, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(),
    )


def _unit(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return feat / (feat.pow(2).sum(1, keepdim=True).sqrt() + eps)


class LPIPS(nn.Module):
    """``LPIPS()(x, y)`` -> one distance per pair, shape ``(N,)``; inputs NCHW in [-1, 1], 1 or 3 channels.

    Frozen (no gradients to its weights) but differentiable in its inputs, so it can serve as a loss.
    """

    def __init__(self):
        super().__init__()
        self.features = _alexnet_features()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[1] == 1:  # grey images: the trunk is an RGB network
            x = x.expand(-1, 3, -1, -1)
        if x.shape[1] != 3:
            raise ValueError(f"LPIPS takes 1- or 3-channel images, got {x.shape[1]} channels")
        if min(x.shape[-2:]) < 32:  # AlexNet's stride-4 stem and two pools leave nothing of smaller images
            raise ValueError(f"LPIPS(AlexNet) needs images of at least 32x32 pixels, got {tuple(x.shape[-2:])}")
        h = (x - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in _TAPS:
                out.append(h)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape:
            raise ValueError(f"LPIPS compares images of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
        d = 0.0
        for lin, fx, fy in zip(self.lins, self.taps(x), self.taps(y)):
            d = d + lin((_unit(fx) - _unit(fy)) ** 2).mean((2, 3))
        return d.flatten()

    def load_official(self, trunk: dict[str, torch.Tensor], linear: dict[str, torch.Tensor]) -> LPIPS:
        """Load torchvision's AlexNet state dict and LPIPS's ``lin<l>.model.1.weight`` tensors."""
        state = {k: v for k, v in trunk.items() if k.startswith("features.")}
        for l in range(len(CHANNELS)):
            key = f"lin{l}.model.1.weight"
            if key not in linear:
                raise KeyError(
                    f"the LPIPS linear weights lack {key!r}: use lpips/weights/v0.1/alex.pth from the lpips package"
                )
            state[f"lins.{l}.weight"] = linear[key]
        missing, unexpected = self.load_state_dict(
            {**{k: v for k, v in self.state_dict().items() if k in ("shift", "scale")}, **state}, strict=False
        )
        if missing or unexpected:
            raise KeyError(
                f"{TRUNK_FILE} does not hold torchvision's AlexNet (missing {missing}, unexpected {unexpected})"
            )
        if any((lin.weight < 0).any() for lin in self.lins):
            raise ValueError("LPIPS linear weights must be non-negative (the official ones are clamped at 0)")
        return self


def _load(path: Path, what: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(
            f"LPIPS needs {what} at {path}: copy it there (or set GENXAI_DATA_DIR); this project downloads no "
            f"weights. Without it, use the classifier-feature perceptual term (perceptual='classifier')."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path} is not a readable PyTorch state dict ({err}); replace it with {what}") from err
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict; replace it with {what}")
    return state


def weights_digest(folder: Path | None = None) -> str:
    """sha256 over both weight files: it enters the cache key of any model trained with LPIPS."""
    folder = folder or weights_dir()
    h = hashlib.sha256()
    for name, what in ((TRUNK_FILE, "torchvision's AlexNet weights"), (LINEAR_FILE, "LPIPS v0.1 alex.pth")):
        path = folder / name
        if not path.is_file():
            _load(path, what)  # raises the user-facing error
        h.update(path.read_bytes())
    return h.hexdigest()


def from_files(folder: Path | None = None) -> LPIPS:
    """LPIPS(AlexNet) with the user's weights from ``folder`` (default :func:`weights_dir`)."""
    folder = folder or weights_dir()
    trunk = _load(folder / TRUNK_FILE, "torchvision's AlexNet weights (alexnet-owt-7be5be79.pth)")
    linear = _load(folder / LINEAR_FILE, "LPIPS v0.1's alex.pth (lpips/weights/v0.1/alex.pth)")
    return LPIPS().load_official(trunk, linear)
