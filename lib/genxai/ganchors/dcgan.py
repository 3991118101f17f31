"""The DCGAN the GANchors authors used (csinva/pytorch_gan_pretrained mnist_dcgan), retrained by us.

Architecture as in the authors' ``dcgan.py`` (Radford et al. 2016 with a 1x1 output layer that
crops 32 -> 28 px): G maps z (B, nz, 1, 1) to (B, 1, 28, 28) in [-1, 1]; D maps images to a
probability.  Training follows pytorch/examples dcgan: Adam 2e-4, betas (0.5, 0.999), BCE with
the non-saturating generator loss, N(0, 0.02) init.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.cache import ModelConfig


class Generator(nn.Module):
    """ConvT 4x4 -> 8x8 -> 16x16 -> 32x32, then ConvT(k=1, p=2) crops to 28x28; Tanh."""

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = 1):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, channels, 1, 1, 2, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        return self.net(z)


class Discriminator(nn.Module):
    """28 -> 14 -> 7 -> 3 -> 1 with LeakyReLU(0.2); returns logits (BCE-with-logits is stabler)."""

    def __init__(self, ndf: int = 64, channels: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 4, 1, 4, 2, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class DCGAN(nn.Module):
    """Container so the one Trainer checkpoints both nets."""

    def __init__(self, nz: int, ngf: int, ndf: int, channels: int = 1):
        super().__init__()
        self.G = Generator(nz, ngf, channels)
        self.D = Discriminator(ndf, channels)


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@dataclass
class DCGANConfig(ModelConfig):
    """A DCGAN trained on one of genxai's 28x28 grey data sets (``model.G`` is the generator)."""

    family = "ganchors_dcgan"

    dataset: str = "mnist"  # a name known to genxai.data.load
    n_train: int | None = None  # seeded subset of the training split (None: all)
    nz: int = 100  # latent dimension (authors: 100)
    ngf: int = 64  # generator width (authors: 64)
    ndf: int = 64  # discriminator width (authors: 64)
    epochs: int = 100  # authors: 100 (netG_epoch_99)
    batch_size: int = 64  # authors: 64
    lr: float = 2e-4  # Adam, both nets
    beta1: float = 0.5
    seed: int = 13  # authors' --manualSeed 13

    def build(self) -> nn.Module:
        return DCGAN(self.nz, self.ngf, self.ndf)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from .. import data
        from ..train import Trainer

        train = data.load(self.dataset, "train", n=self.n_train, seed=self.seed)
        if train.images.shape[1:] != (1, 28, 28):
            raise ValueError(
                f"the authors' DCGAN makes 1x28x28 images; {self.dataset} is {tuple(train.images.shape[1:])}"
            )
        model.apply(_init)
        opt_g = torch.optim.Adam(model.G.parameters(), lr=self.lr, betas=(self.beta1, 0.999))
        opt_d = torch.optim.Adam(model.D.parameters(), lr=self.lr, betas=(self.beta1, 0.999))
        trainer = Trainer.for_config(
            self, model, {"g": opt_g, "d": opt_d}, checkpoint, f"dcgan/{self.dataset}", progress
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            _, batches = trainer.batches(epoch, len(train), self.batch_size)
            ld, lg, n = 0.0, 0.0, 0
            for idx in batches:
                real = train.images[idx].to(device)
                b = len(real)
                z = torch.randn(b, self.nz, 1, 1, device=device)
                fake = model.G(z)
                # D step: real -> 1.0, fake -> 0.0 (float targets for BCE)
                d_loss = F.binary_cross_entropy_with_logits(
                    model.D(real), torch.ones(b, device=device)
                ) + F.binary_cross_entropy_with_logits(model.D(fake.detach()), torch.zeros(b, device=device))
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                # G step, non-saturating loss
                g_loss = F.binary_cross_entropy_with_logits(model.D(fake), torch.ones(b, device=device))
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                ld += float(d_loss.detach()) * b
                lg += float(g_loss.detach()) * b
                n += b
            return {"d_loss": ld / max(n, 1), "g_loss": lg / max(n, 1)}

        history = trainer.fit(epoch_fn)
        return {
            "metrics": {
                "n_train": len(train),
                "data_source": train.source,
                **({k: v for k, v in history[-1].items()} if history else {}),
            },
            "history": history,
        }
