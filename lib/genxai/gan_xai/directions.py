"""Unsupervised discovery of interpretable latent directions (Voynov & Babenko, ICML 2020).

A matrix A holds K candidate directions (columns) in a generator's latent space.  For a
random direction index k and shift eps, the images G(z) and G(z + A(eps e_k)) are given
to a reconstructor R that must recover k (cross-entropy) and eps (L1, weight 0.25); A and
R are trained jointly while G stays frozen (Voynov & Babenko Eq. 1; the work's Fig. 5.2).
Directions that R can tell apart are the ones with distinct, consistent image effects.

Works for any :class:`~genxai.gan_xai.protocol.LatentGenerator` (see :func:`discovery_step`);
:class:`DirectionConfig` trains and caches directions for genxai's MNIST GAN/CGAN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.cache import ModelConfig
from .gan import GANConfig
from .protocol import LatentGenerator, check_generator

DEFORMATOR_KINDS = ("ortho", "linear")


class Deformator(nn.Module):
    """The direction matrix A: ``ortho`` (A = exp(S - S^T), orthonormal columns) or ``linear``."""

    def __init__(self, latent_dim: int, n_directions: int, kind: str = "ortho", random_init: bool = True):
        super().__init__()
        if kind not in DEFORMATOR_KINDS:
            raise ValueError(f"unknown deformator kind {kind!r}: choose one of {DEFORMATOR_KINDS}")
        if not 1 <= n_directions <= latent_dim and kind == "ortho":
            raise ValueError(
                f"an orthogonal deformator has at most latent_dim={latent_dim} directions, "
                f"got {n_directions}; use kind='linear' for more"
            )
        self.latent_dim, self.n_directions, self.kind = latent_dim, n_directions, kind
        if kind == "ortho":
            # skew-symmetric S -> matrix_exp is a rotation; random init starts from a random basis
            self.S = nn.Parameter(torch.randn(latent_dim, latent_dim) * (1.0 if random_init else 1e-3))
        else:
            init = torch.randn(latent_dim, n_directions) * 0.1 if random_init else torch.eye(latent_dim, n_directions)
            self.W = nn.Parameter(init)

    def matrix(self) -> torch.Tensor:
        """A as (latent_dim, K): column k is direction k."""
        if self.kind == "ortho":
            return torch.linalg.matrix_exp(self.S - self.S.T)[:, : self.n_directions]
        return self.W

    def directions(self) -> torch.Tensor:
        """Directions as rows (K, latent_dim), detached."""
        return self.matrix().T.detach()

    def forward(self, k: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Latent shifts A(eps e_k), one per row: (N, latent_dim)."""
        return eps[:, None] * self.matrix().T[k]


class Reconstructor(nn.Module):
    """R: (image, shifted image) -> direction logits (K) and shift (scalar).

    The work's MNIST R (Fig. 5.3): conv-BN-ReLU-maxpool twice, then dense layers with two
    heads.  An adaptive pool makes it size-agnostic (any H, W, channels), so it also fits
    word images.
    """

    def __init__(self, n_directions: int, channels: int = 1, width: int = 32, hidden: int = 128):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(2 * channels, w, 3, padding=1),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(2 * w * 16, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
        )
        self.logits = nn.Linear(hidden, n_directions)
        self.shift = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, x_shifted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(torch.cat([x, x_shifted], 1))
        return self.logits(h), self.shift(h).squeeze(1)


class DirectionModel(nn.Module):
    def __init__(self, deformator: Deformator, reconstructor: Reconstructor):
        super().__init__()
        self.deformator, self.reconstructor = deformator, reconstructor


def sample_shifts(
    n: int, n_directions: int, shift_scale: float, min_shift: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """k ~ U{0..K-1}, eps ~ U([-scale, -min] u [min, scale]) (Voynov & Babenko keep |eps| >= min_shift)."""
    k = torch.randint(0, n_directions, (n,), generator=generator)
    mag = min_shift + (shift_scale - min_shift) * torch.rand(n, generator=generator)
    sign = torch.randint(0, 2, (n,), generator=generator) * 2 - 1
    return k, mag * sign


def discovery_loss(
    G: LatentGenerator,
    model: DirectionModel,
    n: int,
    shift_scale: float,
    min_shift: float,
    shift_weight: float = 0.25,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """One batch of the objective: CE(R_k, k) + shift_weight * |R_eps - eps|; also R's accuracy."""
    z = G.sample_latent(n, generator)
    cond = G.sample_condition(n, generator)
    k, eps = sample_shifts(n, model.deformator.n_directions, shift_scale, min_shift, generator)
    k, eps = k.to(z.device), eps.to(z)
    with torch.no_grad():
        img = G(z, **cond)
    img_shifted = G(z + model.deformator(k, eps), **cond)  # gradients reach A through the frozen G
    logits, eps_hat = model.reconstructor(img, img_shifted)
    ce = F.cross_entropy(logits, k)
    l1 = (eps_hat - eps).abs().mean()
    return {
        "loss": ce + shift_weight * l1,
        "ce": ce,
        "shift_l1": l1,
        "accuracy": (logits.argmax(1) == k).float().mean(),
    }


def discovery_step(
    G: LatentGenerator,
    model: DirectionModel,
    optimizer: torch.optim.Optimizer,
    n: int,
    shift_scale: float,
    min_shift: float,
    shift_weight: float = 0.25,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One optimisation step of A and R for any latent generator (G must be frozen)."""
    G = check_generator(G)
    out = discovery_loss(G, model, n, shift_scale, min_shift, shift_weight, generator)
    optimizer.zero_grad(set_to_none=True)
    out["loss"].backward()
    optimizer.step()
    return {k: v.item() for k, v in out.items()}


@torch.no_grad()
def direction_accuracy(
    G: LatentGenerator,
    model: DirectionModel,
    n_batches: int = 10,
    batch_size: int = 64,
    shift_scale: float = 6.0,
    min_shift: float = 0.5,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """R's direction-index accuracy on fresh samples, with chance level 1/K."""
    was = model.training
    model.eval()
    acc = [
        float(discovery_loss(G, model, batch_size, shift_scale, min_shift, generator=generator)["accuracy"])
        for _ in range(n_batches)
    ]
    model.train(was)
    return {"accuracy": sum(acc) / len(acc), "chance": 1.0 / model.deformator.n_directions}


@dataclass
class DirectionConfig(ModelConfig):
    """Directions (A and R) for a genxai MNIST GAN or CGAN, trained and cached."""

    family = "gan_xai_directions"

    generator: GANConfig = field(default_factory=GANConfig)  # whose latent space is explored
    n_directions: int = 16  # K (chance accuracy of R is 1/K)
    deformator: str = "ortho"  # ortho (default) | linear
    random_init: bool = True  # random starting basis (GANLatentDiscovery's default)
    shift_scale: float = 6.0  # |eps| <= shift_scale
    min_shift: float = 0.5  # |eps| >= min_shift
    shift_weight: float = 0.25  # weight of the L1 shift loss
    epochs: int = 10  # "epochs" of steps_per_epoch steps (checkpointed each)
    steps_per_epoch: int = 100
    batch_size: int = 32
    lr: float = 1e-3  # Adam for A and R
    seed: int = 0

    def build(self) -> DirectionModel:
        return DirectionModel(
            Deformator(self.generator.latent_dim, self.n_directions, self.deformator, self.random_init),
            Reconstructor(self.n_directions),
        )

    def fit(
        self, model: DirectionModel, checkpoint: Path, device: torch.device, progress: bool = True
    ) -> dict[str, Any]:
        from ..train import Trainer
        from .gan import generator_of

        G = generator_of(self.generator, device, progress)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        trainer = Trainer.for_config(self, model, {"adam": opt}, checkpoint, "directions", progress)

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen = trainer.epoch_generator(epoch)
            sums: dict[str, float] = {}
            for _ in range(self.steps_per_epoch):
                for k, v in discovery_step(
                    G, model, opt, self.batch_size, self.shift_scale, self.min_shift, self.shift_weight, gen
                ).items():
                    sums[k] = sums.get(k, 0.0) + v
            return {k: v / self.steps_per_epoch for k, v in sums.items()}

        history = trainer.fit(epoch_fn)
        acc = direction_accuracy(
            G,
            model,
            shift_scale=self.shift_scale,
            min_shift=self.min_shift,
            generator=torch.Generator().manual_seed(self.seed + 1),
        )
        return {"metrics": {"r_accuracy": acc["accuracy"], "chance": acc["chance"]}, "history": history}


def shifted_grid(
    G: LatentGenerator, direction: torch.Tensor, z: torch.Tensor, shifts: torch.Tensor, **condition
) -> torch.Tensor:
    """Images (len(z), len(shifts), C, H, W): row i = z_i moved by each shift along ``direction`` (latent_dim,)."""
    with torch.no_grad():
        rows = [G(z + s * direction.to(z), **condition) for s in shifts.tolist()]
    return torch.stack(rows, 1)
