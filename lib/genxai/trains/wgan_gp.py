"""WGAN-GP (Gulrajani et al. 2017, Algorithm 1) with a frozen classifier steering the generator.

Critic loss  D(x~) - D(x) + lambda * (||grad D(x^)||_2 - 1)^2,  x^ = e x + (1 - e) x~,  e ~ U[0, 1],
with the gradient *flattened per sample* before the norm (a common bug takes the norm over
dim 1 only).  Generator loss  -D(G(z)) + steer_weight * CE(C(G(z)), steer_class), C frozen
(eval mode, no gradient to its weights): the "steer toward class k" of the classifier-perception
study (Fig. 2 there).  steer_weight = 0 is a plain WGAN-GP.  Critic: no batch norm (layer norm).

Two settings trade Algorithm 1's letter for CPU time, both off by default:

* ``lr_d``: the critic's own learning rate.  With ``n_critic = 1`` and a critic four times faster than the generator
  (the two time-scale update rule, Heusel et al. 2017, as SAGAN trains its WGAN-GP critic) every critic batch also
  moves the generator, where Algorithm 1 moves it once per five critic batches.
* ``init``: start from the weights of another cached run (its config's fields), so the steered run fine-tunes a
  generator that already draws the data, as GASTeN pre-trains its WGAN-GP before the classifier term is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.cache import ModelConfig
from ..models.gan_parts import freeze, gradient_penalty


class Generator(nn.Module):
    """z (N, z_dim) -> image (N, C, S, S) in [-1, 1]; S = 4 * 2**n_up (28 handled by a crop)."""

    def __init__(self, z_dim: int = 64, channels: int = 1, img_size: int = 28, width: int = 64):
        super().__init__()
        self.z_dim, self.channels, self.img_size = z_dim, channels, img_size
        n_up = max(1, (max(img_size, 8) - 1).bit_length() - 2)  # 28 -> 32 -> 3 ups
        self.base = 4 * 2**n_up
        chans = [width * 2 ** (n_up - 1 - i) for i in range(n_up)] + [width // 2]
        self.fc = nn.Sequential(nn.Linear(z_dim, chans[0] * 16), nn.BatchNorm1d(chans[0] * 16), nn.ReLU())
        ups = []
        for i in range(n_up):
            cout = chans[i + 1] if i + 1 < n_up else width // 2
            ups += [nn.ConvTranspose2d(chans[i], cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU()]
        self.ups = nn.Sequential(*ups)
        self.out = nn.Sequential(nn.Conv2d(width // 2, channels, 3, padding=1), nn.Tanh())
        self.c0 = chans[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.out(self.ups(self.fc(z).view(len(z), self.c0, 4, 4)))
        pad = (self.base - self.img_size) // 2
        return x[:, :, pad : pad + self.img_size, pad : pad + self.img_size] if pad else x


class Critic(nn.Module):
    """image -> real-valued score; layer norm (GroupNorm with one group), no batch norm."""

    def __init__(self, channels: int = 1, img_size: int = 28, width: int = 64):
        super().__init__()
        layers, c, s = [], channels, img_size
        for i, cout in enumerate((width, 2 * width, 4 * width)):
            layers += [nn.Conv2d(c, cout, 4, 2, 1)]
            if i:
                layers += [nn.GroupNorm(1, cout)]
            layers += [nn.LeakyReLU(0.2)]
            c, s = cout, (s + 1) // 2 if s % 2 else s // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            flat = self.body(torch.zeros(1, channels, img_size, img_size)).shape[1]
        self.head = nn.Linear(flat, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(1)


class WGAN(nn.Module):
    """Container so one Trainer checkpoints both networks."""

    def __init__(self, generator: Generator, critic: Critic):
        super().__init__()
        self.generator, self.critic = generator, critic


def steering_loss(classifier: nn.Module, fake: torch.Tensor, target: int) -> torch.Tensor:
    """Cross-entropy of the frozen classifier's logits against class ``target``."""
    logits = classifier(fake)
    return F.cross_entropy(logits, torch.full((len(fake),), target, dtype=torch.long, device=fake.device))


@dataclass
class WGANGPConfig(ModelConfig):
    """WGAN-GP on a genxai data set, optionally steered toward a class by a frozen classifier."""

    family = "trains_wgan_gp"

    dataset: str = "fashion_mnist"  # a name known to genxai.data.load
    data_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"task": "TypeA", "img_size": 32}
    n_train: int | None = None  # seeded subset of the training split
    size: int | None = None  # resize to size x size (None: native)
    z_dim: int = 64  # latent dimension
    width: int = 32  # base channel count of G and D
    epochs: int = 5  # passes over the training data (critic batches)
    batch_size: int = 64
    lr: float = 1e-4  # Adam, as Algorithm 1 (the generator's; the critic's too unless lr_d is set)
    lr_d: float | None = None  # the critic's learning rate (None: lr)
    betas: tuple[float, float] = (0.0, 0.9)
    n_critic: int = 5  # critic steps per generator step
    gp_lambda: float = 10.0  # gradient-penalty weight
    classifier: dict[str, Any] | None = None  # ClassifierConfig fields of the frozen steering classifier
    steer_class: int = 0  # class the generator is pushed toward
    steer_weight: float = 0.0  # weight of the classifier term (0: plain WGAN-GP)
    n_monitor: int = 256  # fixed latents used for the per-epoch share-assigned metric
    init: dict[str, Any] | None = None  # WGANGPConfig fields of a cached run whose weights this run starts from
    seed: int = 0

    def data(self):
        from .. import data

        return data.load(self.dataset, "train", size=self.size, n=self.n_train, seed=self.seed, **self.data_kwargs)

    def build(self) -> nn.Module:
        c, s = self.shape()
        return WGAN(Generator(self.z_dim, c, s, self.width), Critic(c, s, self.width))

    def shape(self) -> tuple[int, int]:
        x = self.data().images
        return x.shape[1], x.shape[-1]

    def frozen_classifier(self, device) -> nn.Module | None:
        if self.classifier is None:
            return None
        from ..models.cache import get_or_train
        from ..models.classifiers import ClassifierConfig

        return freeze(get_or_train(ClassifierConfig(**self.classifier), device=device).model)

    def start_from(self, device, progress: bool = True) -> nn.Module:
        """The trained run named by ``init`` (trained first if it is not cached)."""
        from ..models.cache import get_or_train

        if self.init is None:
            raise ValueError("start_from() needs init: set init=WGANGPConfig(...).to_dict() of the run to start from")
        start = WGANGPConfig.from_dict(self.init)
        if start.shape() != self.shape() or (start.z_dim, start.width) != (self.z_dim, self.width):
            raise ValueError(
                f"init names a run of another shape (image {start.shape()}, z_dim {start.z_dim}, width "
                f"{start.width}) than this one ({self.shape()}, {self.z_dim}, {self.width}): start from a run on the "
                "same data with the same z_dim and width"
            )
        return get_or_train(start, device=device, progress=progress).model

    def fit(
        self,
        model: nn.Module,
        checkpoint: Path,
        device: torch.device,
        progress: bool = True,
        callbacks: tuple[Callable, ...] = (),
    ) -> dict[str, Any]:
        from ..train import Trainer

        train = self.data()
        G, D = model.generator, model.critic
        clf = self.frozen_classifier(device)
        if self.steer_weight > 0 and clf is None:
            raise ValueError("steer_weight > 0 needs a classifier: set classifier=ClassifierConfig(...).to_dict()")
        if self.init is not None:
            # a resumed run overwrites these weights with its checkpoint (Trainer.fit resumes first)
            start = self.start_from(device, progress)
            model.load_state_dict(start.state_dict())
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr, betas=tuple(self.betas))
        opt_d = torch.optim.Adam(
            D.parameters(), lr=self.lr if self.lr_d is None else self.lr_d, betas=tuple(self.betas)
        )
        z_fixed = torch.randn(self.n_monitor, self.z_dim, generator=torch.Generator().manual_seed(self.seed + 1)).to(
            device
        )
        trainer = Trainer.for_config(
            self, model, {"g": opt_g, "d": opt_d}, checkpoint, f"wgan-gp/{self.dataset}", progress
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            _, batches = trainer.batches(epoch, len(train), self.batch_size)
            sums = {"loss_d": 0.0, "gp": 0.0, "loss_g": 0.0, "steer": 0.0}
            n_g = 0
            for step, idx in enumerate(batches):
                real = train.images[idx].to(device)
                fake = G(torch.randn(len(real), self.z_dim, device=device)).detach()
                gp = gradient_penalty(D, real, fake)
                loss_d = D(fake).mean() - D(real).mean() + self.gp_lambda * gp
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                sums["loss_d"] += float(loss_d.detach())
                sums["gp"] += float(gp.detach())
                if (step + 1) % self.n_critic:
                    continue
                fake = G(torch.randn(self.batch_size, self.z_dim, device=device))
                loss_g = -D(fake).mean()
                steer = (
                    steering_loss(clf, fake, self.steer_class)
                    if self.steer_weight > 0
                    else torch.zeros((), device=device)
                )
                opt_g.zero_grad(set_to_none=True)
                (loss_g + self.steer_weight * steer).backward()
                opt_g.step()
                sums["loss_g"] += float(loss_g.detach())
                sums["steer"] += float(steer.detach())
                n_g += 1
            out = {
                "loss_d": sums["loss_d"] / max(len(batches), 1),
                "gp": sums["gp"] / max(len(batches), 1),
                "loss_g": sums["loss_g"] / max(n_g, 1),
                "steer": sums["steer"] / max(n_g, 1),
            }
            if clf is not None:
                G.eval()
                with torch.no_grad():
                    imgs = G(z_fixed)
                    pred = clf(imgs).argmax(1)
                G.train()
                out["share_assigned"] = float((pred == self.steer_class).float().mean())
                _append_snapshot(checkpoint, epoch, imgs, pred)
            return out

        history = trainer.fit(epoch_fn)
        return {"metrics": dict(history[-1]) if history else {}, "history": history}


@torch.no_grad()
def sample(generator: Generator, n: int, seed: int = 0, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images and their latents, seeded."""
    generator.eval()
    dev = next(generator.parameters()).device
    z = torch.randn(n, generator.z_dim, generator=torch.Generator().manual_seed(seed)).to(dev)
    return torch.cat([generator(z[i : i + batch_size]) for i in range(0, n, batch_size)]), z


def _snapshot_path(checkpoint: Path) -> Path:
    return Path(str(checkpoint).replace(".partial.pt", "") + ".snapshots.pt")


def _append_snapshot(checkpoint: Path | None, epoch: int, images: torch.Tensor, pred: torch.Tensor) -> None:
    """Per-epoch monitor images (uint8) and the classifier's predictions, for Experiment 1's grids."""
    if checkpoint is None:
        return
    path = _snapshot_path(checkpoint)
    snaps = torch.load(path, weights_only=True) if path.exists() else {}
    snaps = {k: v for k, v in snaps.items() if int(k) < epoch}  # a resumed epoch overwrites its snapshot
    snaps[str(epoch)] = {
        "images": ((images.cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8),
        "pred": pred.cpu(),
    }
    torch.save(snaps, path)


def snapshots(config: WGANGPConfig, compute: str | None = None) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """epoch -> (monitor images in [-1, 1], classifier predictions) of a trained, cached config.

    ``compute``: the compute tag the run was trained under (its cache record's ``"compute"``; default: this
    process's thread count), as a model trained in a one-thread worker is cached under ``cpu-1``."""
    from ..models.cache import cache_paths

    _, _, partial = cache_paths(config, compute)
    path = _snapshot_path(partial)
    if not path.exists():
        raise FileNotFoundError(
            f"no per-epoch snapshots for {config} (expected {path}); they are written "
            f"while training a config that has a classifier"
        )
    snaps = torch.load(path, weights_only=True)
    return {
        int(k): (v["images"].float() / 127.5 - 1, v["pred"])
        for k, v in sorted(snaps.items(), key=lambda kv: int(kv[0]))
    }
