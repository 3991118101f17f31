"""What the latent-space explainers need from a generator (MNIST GANs now, ScrabbleGAN later).

Any object with these members can be explored by :mod:`genxai.gan_xai.directions`, the
effect-size metrics and the latent explorer:

* ``latent_dim``: size of the latent vector that directions shift;
* ``sample_latent(n, generator)``: n latent vectors (N, latent_dim);
* ``sample_condition(n, generator)``: keyword arguments for the call (``{}`` when
  unconditional, ``{"labels": ...}`` for a class-conditional model, words for ScrabbleGAN);
* ``__call__(z, **condition)``: images (N, C, H, W) in [-1, 1].
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class LatentGenerator(Protocol):
    latent_dim: int

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def sample_condition(self, n: int, generator: torch.Generator | None = None) -> dict[str, Any]: ...

    def __call__(self, z: torch.Tensor, **condition: Any) -> torch.Tensor: ...


def check_generator(g: Any) -> LatentGenerator:
    missing = [m for m in ("latent_dim", "sample_latent", "sample_condition") if not hasattr(g, m)]
    if missing or not callable(g):
        raise TypeError(
            f"{type(g).__name__} is not a LatentGenerator: it lacks {missing or ['__call__']}; "
            "see genxai.gan_xai.protocol for the members a generator must provide"
        )
    return g


def take_condition(condition: dict[str, Any], index) -> dict[str, Any]:
    """Select rows of every tensor-valued condition (lists are indexed element-wise)."""
    out = {}
    for k, v in condition.items():
        if torch.is_tensor(v):
            out[k] = v[index]
        elif isinstance(v, (list, tuple)):
            idx = index.tolist() if torch.is_tensor(index) else index
            out[k] = [v[i] for i in idx] if isinstance(idx, list) else v[idx]
        else:
            out[k] = v
    return out
