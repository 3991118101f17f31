"""A convolutional VAE (Kingma & Welling 2014): encoder -> (mu, logvar), decoder -> [-1, 1] image.

Loss: reconstruction (sum of squared error on [-1, 1] pixels, i.e. a Gaussian likelihood) +
beta * KL(q(z|x) || N(0, I)).  Used by :mod:`genxai.trains.frontier` to walk between classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.cache import ModelConfig
from .wgan_gp import Generator


class ConvVAE(nn.Module):
    def __init__(self, channels: int = 1, img_size: int = 28, z_dim: int = 16, width: int = 32):
        super().__init__()
        self.z_dim, self.channels, self.img_size = z_dim, channels, img_size
        self.enc = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.enc(torch.zeros(1, channels, img_size, img_size)).shape[1]
        self.mu, self.logvar = nn.Linear(flat, z_dim), nn.Linear(flat, z_dim)
        self.dec = Generator(z_dim, channels, img_size, width)  # same up-sampling stack as the GAN

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc(x)
        return self.mu(h), self.logvar(h).clamp(-10, 10)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z), mu, logvar


def vae_loss(x, recon, mu, logvar, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    rec = ((recon - x) ** 2).flatten(1).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()
    return rec + beta * kl, kl


@dataclass
class VAEConfig(ModelConfig):
    """A ConvVAE on a genxai data set."""

    family = "trains_vae"

    dataset: str = "fashion_mnist"  # a name known to genxai.data.load
    data_kwargs: dict[str, Any] = field(default_factory=dict)
    n_train: int | None = None  # seeded subset of the training split
    size: int | None = None
    z_dim: int = 16  # latent dimension
    width: int = 32
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0  # KL weight
    seed: int = 0

    def data(self, split: str = "train"):
        from .. import data

        return data.load(
            self.dataset,
            split,
            size=self.size,
            n=self.n_train if split == "train" else None,
            seed=self.seed,
            **self.data_kwargs,
        )

    def build(self) -> nn.Module:
        x = self.data().images
        return ConvVAE(x.shape[1], x.shape[-1], self.z_dim, self.width)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..train import Trainer

        train = self.data()
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        trainer = Trainer.for_config(self, model, {"adam": opt}, checkpoint, f"vae/{self.dataset}", progress)

        def epoch_fn(epoch: int) -> dict[str, float]:
            _, batches = trainer.batches(epoch, len(train), self.batch_size, drop_last=False)
            tot, kls, n = 0.0, 0.0, 0
            for idx in batches:
                x = train.images[idx].to(device)
                recon, mu, logvar = model(x)
                loss, kl = vae_loss(x, recon, mu, logvar, self.beta)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                tot += float(loss.detach()) * len(x)
                kls += float(kl.detach()) * len(x)
                n += len(x)
            return {"loss": tot / n, "kl": kls / n}

        history = trainer.fit(epoch_fn)
        return {"metrics": dict(history[-1]) if history else {}, "history": history}
