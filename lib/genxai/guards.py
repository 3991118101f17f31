"""One input guard for every public entry point that takes a classifier or images.

* :func:`check_images`: float NCHW in [-1, 1] (the library's one pixel convention).  Values in [0, 255] are refused
  with the converter that fixes them (:func:`genxai.data.from_uint8`); a batch whose minimum is >= 0 where the
  background should be -1 looks like [0, 1] and gets a warning naming :func:`genxai.data.from_unit`.
* :func:`ensure_logits`: the classifier must return logits.  Attribution methods integrate gradients of the output
  and steering losses take log-softmaxes: a softmax output saturates the former and double-normalises the latter,
  silently.  A model whose outputs on a probe batch are non-negative rows summing to one is refused.
* :func:`check_classifier_inputs`: both, for the usual (classifier, images) pair.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class UnitRangeWarning(UserWarning):
    """Images look like [0, 1] rather than genxai's [-1, 1]."""


def check_images(
    x: torch.Tensor, channels: int | None = None, name: str = "images", warn_unit: bool = True
) -> torch.Tensor:
    """Raise a clear error unless ``x`` is a float (N, C, H, W) batch in [-1, 1]; return ``x``.

    ``warn_unit``: warn when the batch's minimum is >= 0 (a [0, 1] batch; genxai's backgrounds are -1).  Turn it
    off for tensors that may legitimately be non-negative, such as the all-zero baseline.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be shaped (N, C, H, W), got {tuple(x.shape)}; "
            f"add a batch dimension with x.unsqueeze(0) for a single image"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be float in [-1, 1], got {x.dtype}; convert uint8 with genxai.data.from_uint8")
    if not x.numel():
        return x
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0 and 1.001 < hi <= 255.001:
        raise ValueError(
            f"{name} has values in [{lo:.3f}, {hi:.3f}]: that looks like [0, 255] pixels, but genxai uses [-1, 1]; "
            f"convert them with genxai.data.from_uint8 (e.g. from_uint8(x.round().to(torch.uint8)))"
        )
    if lo < -1.001 or hi > 1.001:
        raise ValueError(
            f"{name} has values in [{lo:.3f}, {hi:.3f}] but genxai uses [-1, 1]; rescale them to [-1, 1] "
            f"(genxai.data.from_uint8 for uint8 pixels, genxai.data.from_unit for [0, 1])"
        )
    if warn_unit and lo >= 0:
        warnings.warn(
            f"{name} lie in [{lo:.3f}, {hi:.3f}] with no negative value, as [0, 1] images would; genxai uses "
            f"[-1, 1] (background -1): convert [0, 1] images with genxai.data.from_unit",
            UnitRangeWarning,
            stacklevel=3,
        )
    return x


def _device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def ensure_logits(model: nn.Module, example: torch.Tensor) -> None:
    """Raise if ``model`` returns probabilities instead of logits (every row of a probe batch non-negative and
    summing to 1).  The probe runs in eval mode without gradients; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(example[:8].to(_device(model)))
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the classifier must return (N, n_classes) logits, got {shape}")
    if (out >= 0).all() and torch.allclose(out.sum(1), torch.ones(len(out), dtype=out.dtype, device=out.device)):
        raise ValueError(
            "the classifier returns probabilities (rows are non-negative and sum to 1), but genxai needs logits: "
            "remove the final softmax layer (or wrap the model to return the scores before it)"
        )


def check_classifier_inputs(
    model: nn.Module,
    images: torch.Tensor,
    name: str = "inputs",
    channels: int | None = None,
    warn_unit: bool = True,
) -> torch.Tensor:
    """:func:`check_images` on ``images`` and :func:`ensure_logits` of ``model`` on them; returns ``images``.

    ``warn_unit=False`` for images a generator made: a few decoded samples of one bright class can lie above 0
    without being [0, 1] images, and the range error still catches a generator with another convention.
    """
    check_images(images, channels=channels, name=name, warn_unit=warn_unit)
    ensure_logits(model, images)
    return images
