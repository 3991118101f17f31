"""Class frontiers of a frozen classifier in a generator's latent space (bisection, DeepDIG-style).

Along the straight path z(t) = (1 - t) z_A + t z_B between a latent point the classifier gives
class A and one it gives class B, bisection on t finds where p_C(A | decode(z(t))) = 0.5 within
``tol`` (0.02 by default): the frontier image.  Traversal strips decode evenly spaced t.
:func:`endpoints` picks (and if needed moves, by gradient ascent) the ends of each path so that
the classifier is confident about both: with a weak generator whose decoded images the classifier
rarely gives class B, bisection would otherwise have no crossing to find.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..guards import check_classifier_inputs


@dataclass
class FrontierResult:
    z: torch.Tensor  # (N, d) latent frontier points
    t: torch.Tensor  # (N,) position on each path, 0 = A end, 1 = B end
    p: torch.Tensor  # (N,) classifier probability of class A at z
    hit: torch.Tensor  # (N,) bool: |p - 0.5| <= tol
    images: torch.Tensor  # (N, C, H, W) decoded frontier images


@torch.no_grad()
def prob(decode: Callable, classifier: nn.Module, z: torch.Tensor, cls: int) -> torch.Tensor:
    """Classifier probability of class ``cls`` for the decoded latents."""
    return classifier(decode(z)).softmax(1)[:, cls]


@torch.no_grad()
def bisect(
    decode: Callable,
    classifier: nn.Module,
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    class_a: int,
    tol: float = 0.02,
    max_steps: int = 30,
) -> FrontierResult:
    """Batched bisection on t in [0, 1] so that p(class_a) crosses 0.5 (needs p_a(z_a) > 0.5 > p_a(z_b))."""
    with torch.no_grad():
        check_classifier_inputs(classifier, decode(z_a[:8]), name="decoded images", warn_unit=False)
    lo = torch.zeros(len(z_a), device=z_a.device)
    hi = torch.ones(len(z_a), device=z_a.device)
    path = lambda t: (1 - t)[:, None] * z_a + t[:, None] * z_b
    for _ in range(max_steps):
        mid = (lo + hi) / 2
        p = prob(decode, classifier, path(mid), class_a)
        if ((p - 0.5).abs() <= tol).all():
            break
        still_a = p > 0.5
        lo = torch.where(still_a, mid, lo)
        hi = torch.where(still_a, hi, mid)
    mid = (lo + hi) / 2
    z = path(mid)
    images = decode(z)
    p = classifier(images).softmax(1)[:, class_a]
    return FrontierResult(z, mid, p, (p - 0.5).abs() <= tol, images)


def refine(
    decode: Callable,
    classifier: nn.Module,
    z: torch.Tensor,
    cls: int,
    margin: float = 0.75,
    steps: int = 100,
    step_size: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move latents until the classifier gives ``cls`` at least ``margin`` (normalised gradient ascent on
    log p_cls(decode(z)); each latent stops once it is there).  -> (z, p_cls); p_cls may stay below
    ``margin`` for latents that ``steps`` steps of ``step_size`` (latent units) did not bring there."""
    z = z.detach().clone()
    for _ in range(steps):
        with torch.enable_grad():
            zz = z.clone().requires_grad_(True)
            logp = classifier(decode(zz)).log_softmax(1)[:, cls]
            todo = logp.detach().exp() < margin
            if not todo.any():
                break
            (g,) = torch.autograd.grad(logp[todo].sum(), zz)
        g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (g.dim() - 1))
        z = torch.where(todo.view(-1, *[1] * (z.dim() - 1)), z + step_size * g, z)
    with torch.no_grad():
        p = classifier(decode(z)).softmax(1)[:, cls]
    return z, p


def endpoints(
    encode_or_sample: torch.Tensor,
    decode: Callable,
    classifier: nn.Module,
    class_a: int,
    class_b: int,
    n: int,
    generator: torch.Generator | None = None,
    margin: float = 0.75,
    refine_steps: int = 100,
    return_info: bool = False,
):
    """Pair latents the classifier gives A with latents it gives B, both with p >= ``margin``.

    Latents decoded to confident A (B) images come first; if there are too few (a weak generator),
    those with the highest p are moved by :func:`refine` (``refine_steps`` gradient steps) until the
    classifier gives them the class with p >= ``margin``.  Bisection needs p_A > 0.5 at the A end and
    p_A < 0.5 at the B end: the margin keeps both ends clear of the frontier.  With ``return_info``
    also a dict: how many endpoints were refined and how many still miss the margin.
    """
    z = encode_or_sample
    if len(z) == 0:
        raise ValueError("endpoints needs at least one latent: pass more latents")
    with torch.no_grad():
        check_classifier_inputs(classifier, decode(z[:8]), name="decoded images", warn_unit=False)
        probs = torch.cat([classifier(decode(z[i : i + 512])).softmax(1).cpu() for i in range(0, len(z), 512)])
    info = {}

    def pick(c: int, name: str) -> torch.Tensor:
        confident = (probs[:, c] >= margin).nonzero().flatten()
        rest = probs[:, c].argsort(descending=True)
        rest = rest[~torch.isin(rest, confident)]
        idx = torch.cat([confident, rest])[:n].to(z.device)
        out, p = z[idx], probs[idx.cpu(), c]
        weak = p < margin
        if weak.any() and refine_steps > 0:
            w = weak.nonzero().flatten().to(z.device)
            out = out.clone()
            out[w], p_moved = refine(decode, classifier, out[w], c, margin, refine_steps)
            p[weak] = p_moved.cpu()
        info[f"refined_{name}"] = int(weak.sum()) if refine_steps > 0 else 0
        info[f"below_margin_{name}"] = int((p < margin).sum())
        return out

    za, zb = pick(class_a, "a"), pick(class_b, "b")
    k = min(n, len(za), len(zb))
    return (za[:k], zb[:k], info) if return_info else (za[:k], zb[:k])


@torch.no_grad()
def traversal(
    decode: Callable, classifier: nn.Module, z_a: torch.Tensor, z_b: torch.Tensor, class_a: int, steps: int = 9
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Strips: images (N, steps, C, H, W), t (steps,), p(class_a) (N, steps)."""
    t = torch.linspace(0, 1, steps, device=z_a.device)
    zs = (1 - t)[None, :, None] * z_a[:, None] + t[None, :, None] * z_b[:, None]
    imgs = check_classifier_inputs(classifier, decode(zs.flatten(0, 1)), name="decoded images", warn_unit=False)
    p = classifier(imgs).softmax(1)[:, class_a]
    return imgs.view(len(z_a), steps, *imgs.shape[1:]), t, p.view(len(z_a), steps)
