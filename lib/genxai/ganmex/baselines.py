"""One catalogue of attribution baselines: ``make_baseline(kind, inputs, target, ...)``.

Every kind returns a tensor shaped like ``inputs`` (one baseline per example), usable as the
``baselines=`` of any captum method (IntegratedGradients, DeepLift, Occlusion, NoiseTunnel).
Pixels are in [-1, 1]; "zero" is the *black* image (value 0 of the usual [0, 1] scale, -1 here),
which is what "zero baseline" means in GANMEX and Sturmfels et al. (Distill 2020).

Kinds (GANMEX Sec. 2.2, 4; Sturmfels et al.):

* ``zero``      black image;  ``max``: the maximum-value (white) image (GANMEX Fig. 4 "Max");
* ``blur``      Gaussian blur of the input (``sigma`` px);
* ``uniform``   uniform noise in [-1, 1];  ``gaussian``: input + N(0, sigma^2), clipped;
* ``mdts``      minimum-(L2)-distance training sample of the target class (class-targeted);
* ``eg``        one random training sample of the target class (one draw of class-restricted
                expected gradients; average attributions over several draws, see
                :func:`genxai.ganmex.attribution.expected_gradients`);
* ``ganmex``    G(x, c_t) from a trained GANMEX generator (GANMEX Sec. 3).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data import check_images

KINDS = ("zero", "max", "blur", "uniform", "gaussian", "mdts", "eg", "ganmex")
CLASS_TARGETED = ("mdts", "eg", "ganmex")


def _targets(target, n: int) -> torch.Tensor:
    if target is None:
        raise ValueError("this baseline is class-targeted: pass target= (class index or one per input)")
    return torch.as_tensor(target).long().reshape(-1).expand(n).clone()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding (kernel radius 3 sigma, capped by the image)."""
    radius = max(1, min(int(math.ceil(3 * sigma)), min(x.shape[-2:]) - 1))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    h = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(h, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def mdts(
    inputs: torch.Tensor,
    target: torch.Tensor,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    chunk: int = 2048,
) -> torch.Tensor:
    """Nearest (L2) training image of each input's target class."""
    out = torch.empty_like(inputs)
    flat = inputs.flatten(1)
    for c in target.unique().tolist():
        rows = (target == c).nonzero().flatten()
        pool = train_images[train_labels == c]
        if len(pool) == 0:
            raise ValueError(f"no training image of target class {c} for the MDTS baseline")
        best_d = torch.full((len(rows),), float("inf"))
        best_i = torch.zeros(len(rows), dtype=torch.long)
        for s in range(0, len(pool), chunk):
            d = torch.cdist(flat[rows].cpu(), pool[s : s + chunk].flatten(1))
            v, i = d.min(1)
            better = v < best_d
            best_d[better], best_i[better] = v[better], i[better] + s
        out[rows] = pool[best_i].to(out)
    return out


def eg_sample(
    target: torch.Tensor, train_images: torch.Tensor, train_labels: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """One random training image of each target class."""
    out = torch.empty((len(target),) + tuple(train_images.shape[1:]), dtype=train_images.dtype)
    for c in target.unique().tolist():
        rows = (target == c).nonzero().flatten()
        pool = (train_labels == c).nonzero().flatten()
        if len(pool) == 0:
            raise ValueError(f"no training image of target class {c} for the EG baseline")
        out[rows] = train_images[pool[torch.randint(len(pool), (len(rows),), generator=generator)]]
    return out


def make_baseline(
    kind: str,
    inputs: torch.Tensor,
    target=None,
    *,
    train=None,
    generator=None,
    sigma: float | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Baselines of ``kind`` for ``inputs`` (N, C, H, W) in [-1, 1].

    Args:
        target: the class each baseline should belong to (``mdts``, ``eg``, ``ganmex``).
        train: an ``ImageSet`` (or ``(images, labels)``) of training data (``mdts``, ``eg``).
        generator: a trained GANMEX generator (``ganmex``).
        sigma: blur width in px (``blur``, default H/6) or noise std (``gaussian``, default 0.5).
        seed: seed of the random kinds (``uniform``, ``gaussian``, ``eg``).
    """
    check_images(inputs)
    if kind not in KINDS:
        raise ValueError(f"unknown baseline kind {kind!r}; choose one of {', '.join(KINDS)}")
    g = torch.Generator().manual_seed(seed)
    if kind == "zero":
        return torch.full_like(inputs, -1.0)
    if kind == "max":
        return torch.ones_like(inputs)
    if kind == "blur":
        return gaussian_blur(inputs, sigma or inputs.shape[-1] / 6)
    if kind == "uniform":
        return (torch.rand(inputs.shape, generator=g) * 2 - 1).to(inputs)
    if kind == "gaussian":
        noise = torch.randn(inputs.shape, generator=g).to(inputs) * (0.5 if sigma is None else sigma)
        return (inputs + noise).clamp(-1, 1)
    t = _targets(target, len(inputs))
    if kind == "ganmex":
        if generator is None:
            raise ValueError(
                "kind='ganmex' needs generator= (a trained GANMEX generator, "
                "e.g. genxai.models.get_or_train(GANMEXConfig(...)).model)"
            )
        from .gan import translate

        return translate(generator, inputs, t).to(inputs)
    if train is None:
        raise ValueError(f"kind={kind!r} needs train= (the classifier's training ImageSet)")
    images, labels = (train.images, train.labels) if hasattr(train, "images") else train
    if kind == "mdts":
        return mdts(inputs, t, images, labels).to(inputs)
    return eg_sample(t, images, labels, g).to(inputs)
