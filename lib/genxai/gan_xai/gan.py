"""DCGAN-style MNIST GAN and conditional GAN (label embedding), optional SAGAN blocks.

The work (Sec. 6.1.1) compares an unconditional GAN with a CGAN whose generator has an
embedding layer from labels to the latent input, and puts self-attention layers in both
networks (Sec. 5.2.2).  Here: G = [z ; embed(y)] -> Linear -> 7x7 -> up to 14x14
(attention) -> 28x28 tanh; D = conv 14x14 -> conv 7x7 (attention) -> linear, with a
projection term <embed(y), features> for the conditional model (Miyato & Koyama 2018;
the work does not specify how D sees the label).  Non-saturating loss, Adam (2e-4, 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.cache import ModelConfig
from ..models.gan_parts import freeze
from .attention import SelfAttention

#: How G builds the 14x14 grid that its attention block reads: "transposed", a stride-2 4x4 transposed convolution
#: (DCGAN); "resize", nearest-neighbour upsampling then a 3x3 convolution with replicated borders (Odena et al. 2016).
#: The transposed convolution gives odd and even output columns different kernel taps and the first and last rows
#: and columns one tap per axis instead of two, so some keys stand out on every image, and a query with nothing to
#: look at attends to them (docs/gan_xai.md, attention maps).
UPSAMPLE = ("transposed", "resize")


def _upsample(c_in: int, c_out: int, kind: str) -> nn.Module:
    """Double the resolution: a transposed convolution or a resize-convolution (see :data:`UPSAMPLE`)."""
    if kind == "transposed":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, padding_mode="replicate")
    )


class Generator(nn.Module):
    """z (and a label) -> image in [-1, 1]; implements :class:`~genxai.gan_xai.protocol.LatentGenerator`."""

    def __init__(
        self,
        latent_dim: int = 64,
        n_classes: int = 0,
        embed_dim: int = 16,
        width: int = 64,
        attention: bool = True,
        channels: int = 1,
        hidden: int = 0,
        upsample: str = "transposed",
    ):
        super().__init__()
        if upsample not in UPSAMPLE:
            raise ValueError(f"upsample must be one of {UPSAMPLE}, got {upsample!r}")
        self.latent_dim, self.n_classes, self.channels = latent_dim, n_classes, channels
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        w = width
        d_in = latent_dim + (embed_dim if n_classes else 0)
        # optional hidden FC layer (InfoGAN's MNIST G has FC-1024 before the 7x7 projection)
        pre = [nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU()] if hidden else []
        self.fc = nn.Sequential(
            *pre, nn.Linear(hidden or d_in, 2 * w * 7 * 7), nn.BatchNorm1d(2 * w * 7 * 7), nn.ReLU()
        )
        self.up1 = nn.Sequential(_upsample(2 * w, w, upsample), nn.BatchNorm2d(w), nn.ReLU())
        self.attn = SelfAttention(w) if attention else nn.Identity()
        self.up2 = nn.ConvTranspose2d(w, channels, 4, 2, 1)
        self._w = w

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        if self.embed is not None:
            if labels is None:
                raise ValueError("this is a conditional generator: pass labels=(N,) digit labels")
            z = torch.cat([z, self.embed(labels.to(z.device).long())], 1)
        h = self.fc(z).view(len(z), 2 * self._w, 7, 7)
        return torch.tanh(self.up2(self.attn(self.up1(h))))

    # --- LatentGenerator protocol
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator).to(dev)

    def sample_condition(self, n: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        if not self.n_classes:
            return {}
        dev = next(self.parameters()).device
        return {"labels": torch.randint(0, self.n_classes, (n,), generator=generator).to(dev)}


class Discriminator(nn.Module):
    """Image -> real/fake logit; ``features()`` is the shared body (InfoGAN's Q head uses it)."""

    def __init__(self, n_classes: int = 0, width: int = 64, attention: bool = True, channels: int = 1, hidden: int = 0):
        super().__init__()
        w = width
        # optional FC layer on top (InfoGAN's MNIST D has FC-1024, shared by the D and Q heads)
        top = [nn.Linear(2 * w * 7 * 7, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2)] if hidden else []
        # D's attention block sits at 7x7 (49 positions): at 14x14 (196 positions) it made a training step
        # about 3x slower on a CPU (D runs three times per step); G's block, whose maps Fig. 6.7 shows, stays at 14x14
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1),
            nn.LeakyReLU(0.2),  # 14x14
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.BatchNorm2d(2 * w),
            nn.LeakyReLU(0.2),  # 7x7
            SelfAttention(2 * w) if attention else nn.Identity(),
            nn.Flatten(),
            *top,
        )
        self.feature_dim = hidden or 2 * w * 7 * 7
        self.head = nn.Linear(self.feature_dim, 1)
        self.embed = nn.Embedding(n_classes, self.feature_dim) if n_classes else None
        if self.embed is not None:
            # small start: N(0, 1) rows would make the projection term dominate the first steps
            nn.init.normal_(self.embed.weight, std=self.feature_dim**-0.5)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this is a conditional discriminator: pass labels")
            out = out + (self.embed(labels.long()) * h).sum(1)  # projection discriminator
        return out


class GANPair(nn.Module):
    """Container so one state_dict (and one Trainer checkpoint) holds G and D."""

    def __init__(self, G: nn.Module, D: nn.Module):
        super().__init__()
        self.G, self.D = G, D


def gan_losses(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator's non-saturating GAN loss (Goodfellow et al. 2014, Eq. 1)."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


@dataclass
class GANConfig(ModelConfig):
    """An MNIST GAN (``conditional=False``) or CGAN (``conditional=True``)."""

    family = "gan_xai_gan"

    conditional: bool = False  # CGAN: label embedding in G, projection in D
    dataset: str = "mnist"  # a genxai data set with 28x28 images
    n_train: int | None = None  # seeded subset of the training split (None: all)
    latent_dim: int = 64  # size of z (the space whose directions are discovered)
    embed_dim: int = 16  # label-embedding size (CGAN)
    width: int = 64  # base channel count of G and D
    attention: bool = True  # SAGAN blocks in G (14x14) and D (7x7)
    upsample: str = "transposed"  # how G builds its 14x14 grid: "transposed" (DCGAN) or "resize" (ours; UPSAMPLE)
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-4  # Adam, DCGAN's setting
    beta1: float = 0.5
    seed: int = 0

    def n_classes(self) -> int:
        return 10 if self.conditional else 0

    def build(self) -> GANPair:
        return GANPair(
            Generator(
                self.latent_dim, self.n_classes(), self.embed_dim, self.width, self.attention, upsample=self.upsample
            ),
            Discriminator(self.n_classes(), self.width, self.attention),
        )

    def fit(self, model: GANPair, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from .. import data
        from ..train import Trainer

        train = data.load(self.dataset, "train", n=self.n_train, seed=self.seed)
        G, D = model.G, model.D
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr, betas=(self.beta1, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr, betas=(self.beta1, 0.999))
        kind = "cgan" if self.conditional else "gan"
        trainer = Trainer.for_config(
            self, model, {"g": opt_g, "d": opt_d}, checkpoint, f"{kind}/{self.dataset}", progress
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen, batches = trainer.batches(epoch, len(train), self.batch_size)  # full batches (BatchNorm)
            sums, steps = {"loss_d": 0.0, "loss_g": 0.0}, 0
            for idx in batches:
                real = train.images[idx].to(device)
                y = train.labels[idx].to(device) if self.conditional else None
                z = torch.randn(len(idx), self.latent_dim, generator=gen).to(device)
                fake = G(z, y) if self.conditional else G(z)
                loss_d = gan_losses(
                    D(real, y) if self.conditional else D(real),
                    D(fake.detach(), y) if self.conditional else D(fake.detach()),
                )
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                loss_g = F.softplus(-(D(fake, y) if self.conditional else D(fake))).mean()
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                sums["loss_d"] += loss_d.item()
                sums["loss_g"] += loss_g.item()
                steps += 1
            return {k: v / max(steps, 1) for k, v in sums.items()}

        history = trainer.fit(epoch_fn)
        return {
            "metrics": {
                "n_train": len(train),
                "data_source": train.source,
                "attention_gamma_g": G.attn.gamma.item() if self.attention else None,
            },
            "history": history,
        }


def generator_of(
    config: GANConfig, device: str | torch.device = "cpu", progress: bool = True, threads: int | None = 1
) -> Generator:
    """The trained, frozen generator of ``config`` (trained and cached on first use).

    On a CPU the cache keys a model by the thread count that trained it.  The notebooks train their GANs one per
    one-thread process (:func:`~genxai.models.parallel.get_or_train_many`), so this looks them up at one thread
    whatever the caller's count: a direction model trained in a two-thread process then walks the same GAN as the
    figures instead of training another.  ``threads=None``: the caller's count.
    """
    from ..models import get_or_train

    return freeze(get_or_train(config, device=device, progress=progress, threads=threads).model.G)
