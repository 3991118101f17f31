"""The classifier zoo: small CNNs that output logits, trained on [-1, 1] images.

Every ReLU is its own ``nn.ReLU`` module used once, because captum's DeepLift attaches
its rules to modules: a single ReLU reused at several places gives wrong attributions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..guards import ensure_logits  # noqa: F401  (the one input guard, re-exported as genxai.models.ensure_logits)
from .cache import ModelConfig


class SmallCNN(nn.Module):
    """conv-conv-pool-conv-conv-pool-fc-fc; ``features()`` gives the penultimate layer.

    The penultimate features serve as our own embedding for FID-like realism scores
    (no Inception weights can be downloaded here).
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 10,
        img_size: int = 28,
        width: int = 32,
        hidden: int = 128,
        dropout: float = 0.25,
    ):
        super().__init__()
        self.in_channels, self.n_classes, self.img_size = in_channels, n_classes, img_size
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        flat = 2 * w * (img_size // 4) ** 2
        self.fc = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def random_affine(x: torch.Tensor, max_shift: int, max_rotate: float = 10.0, max_scale: float = 0.1) -> torch.Tensor:
    """Random small rotation, scaling and translation (background -1 fills the border)."""
    if max_shift <= 0 and max_rotate <= 0 and max_scale <= 0:
        return x
    n, _, h, w = x.shape
    ang = (torch.rand(n) * 2 - 1) * max_rotate * torch.pi / 180
    scale = 1 + (torch.rand(n) * 2 - 1) * max_scale
    tx = (torch.rand(n) * 2 - 1) * max_shift * 2 / w
    ty = (torch.rand(n) * 2 - 1) * max_shift * 2 / h
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` px (background -1 fills the border)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,))
    dy = torch.randint(0, 2 * max_shift + 1, (n,))
    rows = dy[:, None] + torch.arange(h)[None, :]  # (n, h)
    cols = dx[:, None] + torch.arange(w)[None, :]  # (n, w)
    idx_n = torch.arange(n)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def module_device(model: nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (CPU for a module that has neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The model's outputs on ``images`` in batches, without gradients, returned on the CPU."""
    device = module_device(model)
    was_training = model.training
    model.eval()
    out = (
        torch.cat([model(images[i : i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)])
        if len(images)
        else torch.empty(0)
    )
    model.train(was_training)
    return out


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict_logits(model, images).argmax(1) == labels).float().mean())


@dataclass
class ClassifierConfig(ModelConfig):
    """A SmallCNN trained with Adam and cross-entropy on one of genxai's data sets."""

    family = "classifier"

    dataset: str = "mnist"  # a name known to genxai.data.load
    size: int | None = None  # resize images to size x size (None: native)
    n_train: int | None = None  # seeded subset of the training split (None: all)
    epochs: int = 8  # passes over the training data
    batch_size: int = 128
    lr: float = 2e-3  # Adam peak learning rate, cosine-annealed to 0 over the epochs
    max_shift: int = 2  # augmentation: random translation, in pixels
    max_rotate: float = 10.0  # augmentation: random rotation, in degrees
    width: int = 32  # channels of the first conv block
    seed: int = 0
    data_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"labels": "color"}

    def data(self, split: str):
        from .. import data

        return data.load(
            self.dataset,
            split,
            size=self.size,
            n=self.n_train if split == "train" else None,
            seed=self.seed,
            **self.data_kwargs,
        )

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """The training augmentation of one batch (random affine: shift, rotation, +-10 % scale)."""
        return random_affine(x, self.max_shift, self.max_rotate)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, train, idx: torch.Tensor) -> torch.Tensor:
        """The training loss of one batch: cross-entropy on the logits (``train[idx]`` are its images)."""
        return F.cross_entropy(model(x), y)

    def epoch_test_acc(self, model: nn.Module, test) -> float:
        """The test accuracy logged after each epoch (the training curve); the final one uses all of ``test``."""
        return accuracy(model, test.images, test.labels)

    def build(self) -> nn.Module:
        test = self.data("test")
        c, h, _ = test.shape
        return SmallCNN(in_channels=c, n_classes=test.n_classes, img_size=h, width=self.width)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..train import Trainer

        train, test = self.data("train"), self.data("test")
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.epochs))
        trainer = Trainer.for_config(
            self, model, {"adam": opt}, checkpoint, f"classifier/{self.dataset}", progress, schedulers={"lr": sched}
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            _, batches = trainer.batches(epoch, len(train), self.batch_size, drop_last=False)
            total, n = 0.0, 0
            for idx in batches:
                x = self.augment(train.images[idx]).to(device)
                y = train.labels[idx].to(device)
                loss = self.loss(model, x, y, train, idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                n += len(idx)
            return {"train_loss": total / max(n, 1), "test_acc": self.epoch_test_acc(model, test)}

        history = trainer.fit(epoch_fn)
        final = {
            "test_acc": accuracy(model, test.images, test.labels),
            "train_acc": accuracy(model, train.images, train.labels),
            "n_train": len(train),
            "n_test": len(test),
            "data_source": train.source,
        }
        return {"metrics": final, "history": history}
