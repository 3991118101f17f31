"""Cascading model randomisation (Adebayo et al. 2018), as GANMEX Sec. 4.3 describes it.

"Layer by layer we replace the model weights with Gaussian random variables scaled to have the
same norm", from the output layer down to the first layer.  Our own implementation (not quantus'
MPRT, which calls ``reset_parameters()`` instead of the paper's norm-matched Gaussian draw).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def cascade_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Layers with weights (Conv/Linear), top (output) first: the cascading order."""
    layers = [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and getattr(m, "weight", None) is not None
    ]
    return layers[::-1]


def layer_labels(model: nn.Module) -> list[str]:
    """Human names in cascading order, e.g. Output, FC1, CNN4, ..., CNN1 (paper: Output, FC, CNN2, CNN1)."""
    layers = cascade_layers(model)
    convs = [n for n, m in layers if isinstance(m, nn.Conv2d)]
    linears = [n for n, m in layers if isinstance(m, nn.Linear)]
    out = []
    for name, m in layers:
        if isinstance(m, nn.Linear):
            i = linears.index(name)
            out.append("Output" if i == 0 else f"FC{len(linears) - i}")
        else:
            out.append(f"CNN{len(convs) - convs.index(name)}")
    return out


@torch.no_grad()
def randomise_(module: nn.Module, generator: torch.Generator) -> None:
    """Replace weight and bias by Gaussian draws rescaled to the original tensors' norms."""
    for p in (module.weight, getattr(module, "bias", None)):
        if p is None:
            continue
        draw = torch.randn(p.shape, generator=generator).to(p)
        norm = p.norm()
        p.copy_(draw * (norm / draw.norm().clamp_min(1e-12)))


def randomised_copy(model: nn.Module, n_layers: int, seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` whose top ``n_layers`` layers are randomised (0: unchanged copy)."""
    layers = cascade_layers(model)
    if not 0 <= n_layers <= len(layers):
        raise ValueError(f"n_layers must be in 0..{len(layers)}, got {n_layers}")
    out = copy.deepcopy(model)
    named = dict(out.named_modules())
    g = torch.Generator().manual_seed(seed)
    for name, _ in layers[:n_layers]:
        randomise_(named[name], g)
    return out.eval()
