"""One-vs-one attributions through captum with per-example baselines (GANMEX Sec. 2-4).

How one-vs-one is formed (``mode``):

* ``"target"`` (default, the paper's A_{S, c_o -> c_t}(x, B_{c_t}(x))): attribute the logit of the
  original class c_o, integrating from a baseline B_{c_t}(x) that belongs to the target class c_t
  (GANMEX, MDTS or a target-class EG sample).  With a class-targeted baseline the attribution
  explains "why c_o and not c_t"; with the zero baseline it is the usual one-vs-all map.
* ``"difference"``: attribute the logit difference S_{c_o}(x) - S_{c_t}(x) (captum FAQ's
  suggestion) from the same baseline: makes the contrast explicit even for non-targeted baselines.

Methods: ``ig`` (IntegratedGradients, 50 Gauss-Legendre steps), ``deeplift``, ``deepliftshap``
(per-example baseline *sets* (N, K, C, H, W); with one baseline per example DeepLiftShap equals
DeepLift, which is what captum's one-baseline assertion forbids, so we call DeepLift then),
``occlusion`` (window/stride in px, the baseline fills the occluded patch), and class-restricted
expected gradients (:func:`expected_gradients`, captum GradientShap per target-class group).
Attributions are returned per channel, shaped like the inputs; sum over channels to plot.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch
from captum.attr import DeepLift, DeepLiftShap, GradientShap, IntegratedGradients, Occlusion
from torch import nn

from ..guards import check_classifier_inputs, check_images
from .baselines import make_baseline

METHODS = ("ig", "deeplift", "deepliftshap", "occlusion")


class LogitDifference(nn.Module):
    """forward(x, contrast) = logits - logits[contrast] per row, so target=c_o gives S_co - S_ct."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return logits - logits.gather(1, contrast.long().view(-1, 1))


def _as_index(t, n: int) -> torch.Tensor:
    return torch.as_tensor(t).long().reshape(-1).expand(n).clone()


# Warnings captum and torch repeat on every call, understood and harmless here:
# * "did not already require gradients": captum turns requires_grad on for the inputs it attributes, as intended;
# * "Setting forward, backward hooks and attributes on non-linear activations": DeepLift's hooks replace the
#   gradients of our nn.ReLU modules (one module per use, so its rule is exact), which is DeepLift itself;
# * "max_unpooling2d ... deterministic implementation": DeepLift's max-pool rule uses max_unpool2d, whose CPU
#   kernel is deterministic; the warning comes from torch.use_deterministic_algorithms(warn_only=True).
_EXPECTED_WARNINGS = (
    r"Input Tensor \d+ did not already require gradients",
    r"Setting forward, backward hooks and attributes on non-linear",
    r"max_unpooling2d_forward_out does not have a deterministic implementation",
)


def _expected_warnings_silenced(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            for message in _EXPECTED_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            return fn(*args, **kwargs)

    return wrapper


@_expected_warnings_silenced
def attribute(
    method: str,
    model: nn.Module,
    inputs: torch.Tensor,
    target,
    baselines: torch.Tensor,
    contrast=None,
    mode: str = "target",
    n_steps: int = 50,
    window: int = 4,
    stride: int = 2,
    internal_batch_size: int | None = None,
) -> torch.Tensor:
    """Attributions of class ``target`` (c_o) of ``model`` for ``inputs`` against ``baselines``.

    ``baselines``: (N, C, H, W), one per example (``deepliftshap`` also takes sets (N, K, C, H, W)).
    ``contrast``: the target class c_t, needed only for ``mode="difference"``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if mode not in ("target", "difference"):
        raise ValueError(f"mode must be 'target' or 'difference', got {mode!r}")
    check_classifier_inputs(model, inputs)
    for_range = baselines.flatten(0, 1) if baselines.dim() == inputs.dim() + 1 else baselines
    check_images(for_range, name="baselines", warn_unit=False)  # the zero baseline is legitimately >= 0
    model.eval()
    n = len(inputs)
    tgt = _as_index(target, n)
    fwd, extra = model, None
    if mode == "difference":
        if contrast is None:
            raise ValueError("mode='difference' needs contrast= (the class c_t to contrast with)")
        fwd, extra = LogitDifference(model), (_as_index(contrast, n),)
    if baselines.shape[0] != n:
        raise ValueError(f"need one baseline (set) per input: {baselines.shape[0]} baselines, {n} inputs")
    if method == "deepliftshap" and baselines.dim() == inputs.dim() + 1 and baselines.shape[1] > 1:
        out = []
        for i in range(n):  # captum pairs every input with every baseline: loop per example
            ex = None if extra is None else (extra[0][i : i + 1],)
            out.append(
                DeepLiftShap(fwd).attribute(
                    inputs[i : i + 1], baselines[i], target=tgt[i : i + 1], additional_forward_args=ex
                )
            )
        return torch.cat(out).detach()
    if baselines.dim() == inputs.dim() + 1:
        baselines = baselines[:, 0]
    if baselines.shape != inputs.shape:
        raise ValueError(f"baselines {tuple(baselines.shape)} must be shaped like inputs {tuple(inputs.shape)}")
    if method == "ig":
        out = IntegratedGradients(fwd).attribute(
            inputs,
            baselines,
            target=tgt,
            additional_forward_args=extra,
            n_steps=n_steps,
            internal_batch_size=internal_batch_size,
        )
    elif method in ("deeplift", "deepliftshap"):
        out = DeepLift(fwd).attribute(inputs, baselines, target=tgt, additional_forward_args=extra)
    else:
        c = inputs.shape[1]
        out = Occlusion(fwd).attribute(
            inputs,
            sliding_window_shapes=(c, window, window),
            strides=(c, stride, stride),
            baselines=baselines,
            target=tgt,
            additional_forward_args=extra,
            perturbations_per_eval=16,
        )
    return out.detach()


@_expected_warnings_silenced
def expected_gradients(
    model: nn.Module, inputs: torch.Tensor, target, contrast, train, n_samples: int = 20, pool: int = 200, seed: int = 0
) -> torch.Tensor:
    """Class-restricted expected gradients (GANMEX Sec. 4; Erion et al.): IG from random
    training images of the contrast class c_t, one random alpha per sample (captum GradientShap,
    one call per contrast class because GradientShap takes one shared distribution)."""
    check_classifier_inputs(model, inputs)
    model.eval()
    n = len(inputs)
    tgt, con = _as_index(target, n), _as_index(contrast, n)
    images, labels = (train.images, train.labels) if hasattr(train, "images") else train
    out = torch.zeros_like(inputs)
    g = torch.Generator().manual_seed(seed)
    for c in con.unique().tolist():
        rows = (con == c).nonzero().flatten()
        cls = (labels == c).nonzero().flatten()
        dist = images[cls[torch.randperm(len(cls), generator=g)[:pool]]].to(inputs)
        np.random.seed(seed + int(c))  # GradientShap draws baselines and alphas with NumPy
        torch.manual_seed(seed + int(c))
        out[rows] = (
            GradientShap(model)
            .attribute(inputs[rows], dist, n_samples=n_samples, stdevs=0.0, target=tgt[rows])
            .detach()
        )
    return out


def explain(
    method: str,
    kind: str,
    model: nn.Module,
    inputs: torch.Tensor,
    original,
    target_class,
    *,
    train=None,
    generator=None,
    n_eg: int = 20,
    mode: str = "target",
    seed: int = 0,
    **kwargs,
) -> torch.Tensor:
    """One-vs-one map "why ``original`` and not ``target_class``" for a baseline ``kind``.

    ``kind="eg"`` runs class-restricted expected gradients for ``ig`` (``n_eg`` samples) and a
    DeepLiftShap over ``n_eg`` target-class samples for ``deeplift``/``deepliftshap``.
    """
    check_classifier_inputs(model, inputs)  # before any baseline is built from the inputs
    if kind == "eg":
        if method == "ig":
            return expected_gradients(model, inputs, original, target_class, train, n_samples=n_eg, seed=seed)
        draws = torch.stack(
            [make_baseline("eg", inputs, target_class, train=train, seed=seed + k) for k in range(n_eg)], 1
        )
        if method == "occlusion":
            return torch.stack(
                [
                    attribute(method, model, inputs, original, draws[:, k], contrast=target_class, mode=mode, **kwargs)
                    for k in range(n_eg)
                ]
            ).mean(0)
        return attribute("deepliftshap", model, inputs, original, draws, contrast=target_class, mode=mode, **kwargs)
    base = make_baseline(kind, inputs, target_class, train=train, generator=generator, seed=seed)
    return attribute(method, model, inputs, original, base, contrast=target_class, mode=mode, **kwargs)
