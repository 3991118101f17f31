"""Fig. 2 of the classifier-perception study, drawn from the model objects (not by hand).

Each network is traced with forward hooks on a dummy input: one box per leaf layer with its
output shape.  Arrows: z -> G -> image -> critic D (Wasserstein score) and -> frozen classifier C
(steering cross-entropy); the real data also enters D.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn


def trace(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(layer description, output shape) of every leaf module, in call order."""
    rows, hooks = [], []
    for name, m in model.named_modules():
        if len(list(m.children())) == 0:
            hooks.append(
                m.register_forward_hook(
                    lambda mod, i, o, name=name: rows.append((type(mod).__name__, tuple(o.shape[1:])))
                )
            )
    was = model.training
    model.eval()
    with torch.no_grad():
        model(x)
    model.train(was)
    for h in hooks:
        h.remove()
    return rows


def _column(ax, x0, title, rows, colour, y_top=0.95, width=0.26):
    h = min(0.045, 0.8 / max(len(rows), 1))
    ax.text(x0 + width / 2, y_top + 0.02, title, ha="center", va="bottom", fontsize=9, weight="bold")
    for i, (kind, shape) in enumerate(rows):
        y = y_top - (i + 1) * h
        ax.add_patch(FancyBboxPatch((x0, y), width, h * 0.85, boxstyle="round,pad=0.002", fc=colour, ec="k", lw=0.4))
        ax.text(
            x0 + width / 2, y + h * 0.42, f"{kind} {'x'.join(map(str, shape))}", ha="center", va="center", fontsize=5.5
        )
    return y_top - (len(rows) + 1) * h


def architecture(generator: nn.Module, critic: nn.Module, classifier: nn.Module, steer_weight: float, steer_class: str):
    dev = next(generator.parameters()).device
    z = torch.zeros(2, generator.z_dim, device=dev)
    g_rows = trace(generator, z)
    img = generator.eval()(z)
    d_rows, c_rows = trace(critic, img), trace(classifier, img)
    fig, ax = plt.subplots(figsize=(11, 6.5))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _column(ax, 0.03, f"Generator G (z: {generator.z_dim})", g_rows, "#cfe3ff")
    _column(ax, 0.37, "Critic D (WGAN-GP, no batch norm)", d_rows, "#ffe0c4")
    _column(ax, 0.71, "Frozen classifier C", c_rows, "#d8f2d0")
    arrow = dict(arrowstyle="-|>", mutation_scale=12, lw=1.2)
    ax.add_patch(FancyArrowPatch((0.29, 0.6), (0.37, 0.6), **arrow))
    ax.add_patch(FancyArrowPatch((0.29, 0.5), (0.71, 0.5), connectionstyle="arc3,rad=-0.25", **arrow))
    ax.text(0.33, 0.62, "G(z)", fontsize=8, ha="center")
    ax.text(
        0.5,
        0.06,
        f"G loss = -D(G(z)) + {steer_weight:g} * CE(C(G(z)), '{steer_class}')   |   "
        "D loss = D(G(z)) - D(x) + 10 * (||grad D(x^)|| - 1)^2",
        ha="center",
        fontsize=8,
    )
    ax.text(0.5, 0.01, "real images x enter D; C is frozen (eval, no gradient to its weights)", ha="center", fontsize=7)
    return fig
