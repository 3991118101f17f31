"""Class frontiers of a frozen classifier in a generator's latent space (bisection, DeepDIG-style).

Along the straight path z(t) = (1 - t) z_A + t z_B between a latent point the classifier gives
class A and one it gives class B, bisection on t finds where p_C(A | decode(z(t))) = 0.5 within
``tol`` (0.02 by default): the frontier image.  Traversal strips decode evenly spaced t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


@dataclass
class FrontierResult:
    z: torch.Tensor        # (N, d) latent frontier points
    t: torch.Tensor        # (N,) position on each path, 0 = A end, 1 = B end
    p: torch.Tensor        # (N,) classifier probability of class A at z
    hit: torch.Tensor      # (N,) bool: |p - 0.5| <= tol
    images: torch.Tensor   # (N, C, H, W) decoded frontier images


@torch.no_grad()
def prob(decode: Callable, classifier: nn.Module, z: torch.Tensor, cls: int) -> torch.Tensor:
    """Classifier probability of class ``cls`` for the decoded latents."""
    return classifier(decode(z)).softmax(1)[:, cls]


@torch.no_grad()
def bisect(decode: Callable, classifier: nn.Module, z_a: torch.Tensor, z_b: torch.Tensor,
           class_a: int, tol: float = 0.02, max_steps: int = 30) -> FrontierResult:
    """Batched bisection on t in [0, 1] so that p(class_a) crosses 0.5 (needs p_a(z_a) > 0.5 > p_a(z_b))."""
    lo = torch.zeros(len(z_a), device=z_a.device)
    hi = torch.ones(len(z_a), device=z_a.device)
    path = lambda t: (1 - t)[:, None] * z_a + t[:, None] * z_b  # noqa: E731
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


@torch.no_grad()
def endpoints(encode_or_sample: torch.Tensor, decode: Callable, classifier: nn.Module, class_a: int,
              class_b: int, n: int, generator: torch.Generator | None = None):
    """Pair latents the classifier assigns to A (p_A > 0.5) with latents it assigns to B."""
    z = encode_or_sample
    probs = classifier(decode(z)).softmax(1).cpu()
    pred = probs.argmax(1)

    def pick(c: int) -> torch.Tensor:
        # latents assigned to c first; if too few (a weak generator), those with the highest p(c):
        # bisection then may miss, which the hit rate reports
        assigned = (pred == c).nonzero().flatten()
        rest = probs[:, c].argsort(descending=True)
        rest = rest[~torch.isin(rest, assigned)]
        return torch.cat([assigned, rest])[:n]

    za, zb = z[pick(class_a).to(z.device)], z[pick(class_b).to(z.device)]
    k = min(n, len(za), len(zb))
    if k == 0:
        raise ValueError("endpoints needs at least one latent: pass more latents")
    return za[:k], zb[:k]


@torch.no_grad()
def traversal(decode: Callable, classifier: nn.Module, z_a: torch.Tensor, z_b: torch.Tensor,
              class_a: int, steps: int = 9) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Strips: images (N, steps, C, H, W), t (steps,), p(class_a) (N, steps)."""
    t = torch.linspace(0, 1, steps, device=z_a.device)
    zs = (1 - t)[None, :, None] * z_a[:, None] + t[None, :, None] * z_b[:, None]
    imgs = decode(zs.flatten(0, 1))
    p = classifier(imgs).softmax(1)[:, class_a]
    return imgs.view(len(z_a), steps, *imgs.shape[1:]), t, p.view(len(z_a), steps)
