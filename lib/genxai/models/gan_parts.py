"""GAN parts shared by several works: the WGAN-GP gradient penalty and freezing a classifier or a judge.

(The training-loop skeleton every family shares, ``Trainer.for_config`` and ``Trainer.batches``, lives in
:mod:`genxai.train` with the loop itself.)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, score: Callable[[object], torch.Tensor] | None = None
) -> torch.Tensor:
    """WGAN-GP's penalty ``E[(‖∇_x̂ D(x̂)‖₂ - 1)²]`` on random interpolates x̂ (Gulrajani et al. 2017, Alg. 1).

    The norm is that of each sample's *flattened* gradient.  ``score`` picks the critic's realness score from its
    output when the critic returns more than one (GANMEX's critic returns (score, class logits)).
    """
    eps = torch.rand(len(real), 1, 1, 1, device=real.device)
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(mix)
    (grad,) = torch.autograd.grad((score(out) if score else out).sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def freeze(model: nn.Module, eval_mode: bool = True) -> nn.Module:
    """No gradients for ``model``'s parameters (and eval mode unless ``eval_mode=False``, e.g. for a generator
    sampled with BatchNorm in training mode); returns the model."""
    if eval_mode:
        model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
