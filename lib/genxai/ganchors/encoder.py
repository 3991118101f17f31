"""The diverse encoder P (Eq. 11/12): a masked image -> K latents whose G(z_k) match the anchor.

Loss (Eq. 12): mean_k MSE(A x, A G(z_k)) + lambda * mean_{j != k} ((min(||z_j - z_k||, t) - t) / t)^2;
the cap t keeps the diversity term from rewarding ever larger latents (paper: lambda = 1, t = 10).
Trained on random superpixel masks (each quickshift segment kept with p = 0.5), G frozen.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.cache import ModelConfig
from ..models.gan_parts import freeze
from ..repro import show_progress
from .dcgan import DCGANConfig


class DiverseEncoder(nn.Module):
    """Authors' P_MNIST: 3 strided convs + LeakyReLU(0.2), Linear(576 -> K * nz).

    Input: the masked image A x ([-1, 1]) and, as a second channel, the mask A itself
    (deviation: the authors fed only the masked image, which cannot tell 'black pixel in the
    anchor' from 'outside the anchor').
    """

    def __init__(self, nz: int = 100, k: int = 8, width: int = 16):
        super().__init__()
        self.nz, self.k = nz, k
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(2, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * w * 3 * 3, k * nz)

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.expand(len(masked), 1, *masked.shape[-2:])
        return self.head(self.body(torch.cat([masked, mask], 1))).view(-1, self.k, self.nz)


def diversity_penalty(z: torch.Tensor, t: float) -> torch.Tensor:
    """mean over pairs j != k of ((min(||z_j - z_k||, t) - t) / t)^2, z (B, K, nz)."""
    d = torch.cdist(z, z)
    k = z.shape[1]
    off = ~torch.eye(k, dtype=torch.bool, device=z.device)
    return (((d.clamp(max=t) - t) / t) ** 2)[:, off].mean()


def encoder_loss(
    G: nn.Module, enc: DiverseEncoder, x: torch.Tensor, A: torch.Tensor, lam: float = 1.0, t: float = 10.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 12 on a batch: x (B, 1, H, W), A (B, 1, H, W) random superpixel masks."""
    z = enc(A * x, A)  # (B, K, nz)
    b, k, nz = z.shape
    out = G(z.reshape(b * k, nz)).view(b, k, *x.shape[1:])
    rec = ((A[:, None] * (out - x[:, None])) ** 2).flatten(2).sum(2) / (A.flatten(1).sum(1)[:, None] + 1e-9)
    has = A.flatten(1).sum(1) > 0  # masks with no pixel carry no signal
    rec = rec[has].mean() if has.any() else rec.sum() * 0
    return rec + lam * diversity_penalty(z, t), rec


@dataclass
class EncoderConfig(ModelConfig):
    """A diverse encoder for a cached DCGAN (trained on random superpixel masks)."""

    family = "ganchors_encoder"

    gan: DCGANConfig = field(default_factory=DCGANConfig)  # the generator it inverts
    n_train: int = 5000  # training images (authors: MNIST train, one epoch)
    segments: int = 8  # quickshift segments per training image (authors: 8)
    k: int = 8  # latents per image (authors: 8)
    lam: float = 1.0  # lambda of Eq. 12 (authors: 1)
    t: float = 10.0  # distance cap t (authors: 10)
    epochs: int = 1  # authors: early stop after one pass
    batch_size: int = 32  # authors: 32
    lr: float = 1e-3  # Adam (authors: 1e-3)
    bn_train: bool = True  # G's BatchNorm in train mode while training (authors: yes)
    seed: int = 0

    def build(self) -> nn.Module:
        return DiverseEncoder(self.gan.nz, self.k)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from tqdm.auto import tqdm

        from .. import data
        from ..models import get_or_train
        from ..train import Trainer
        from .segmentation import quickshift_k

        G = get_or_train(self.gan, device=device, progress=progress).model.G
        G = freeze(copy.deepcopy(G).to(device), eval_mode=False)  # a private copy: G.train() follows bn_train
        train = data.load(self.gan.dataset, "train", n=self.n_train, seed=self.seed)
        # segments computed once beforehand (the authors did the same: quickshift is slow)
        segs = torch.stack(
            [
                torch.as_tensor(quickshift_k(x, self.segments, max_iter=8).labels)
                for x in tqdm(train.images, desc="segments", disable=not show_progress(progress), leave=False)
            ]
        )
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        trainer = Trainer.for_config(self, model, {"adam": opt}, checkpoint, "diverse encoder", progress)

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen, batches = trainer.batches(epoch, len(train), self.batch_size, drop_last=False)
            G.train(self.bn_train)
            tot, tot_rec, n = 0.0, 0.0, 0
            for idx in batches:
                x = train.images[idx].to(device)
                s = segs[idx]
                keep = torch.rand(len(idx), int(s.max()) + 1, generator=gen) < 0.5
                A = torch.gather(keep, 1, s.flatten(1)).view(len(idx), 1, *s.shape[1:]).float().to(device)
                loss, rec = encoder_loss(G, model, x, A, self.lam, self.t)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                tot += loss.item() * len(idx)
                tot_rec += rec.item() * len(idx)
                n += len(idx)
            return {"loss": tot / n, "masked_mse": tot_rec / n}

        history = trainer.fit(epoch_fn)
        return {"metrics": dict(history[-1]) if history else {}, "history": history}
