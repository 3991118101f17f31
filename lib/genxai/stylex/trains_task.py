"""StylEx on our procedural trains, and attribute detectors for the trains' known generating factors.

The objective counterpart of the user study (:mod:`genxai.stylex.coherence`) needs a data set whose generating
factors are known image by image: our trains (:mod:`genxai.data.trains`) record every factor they were drawn with.
This module holds the two trainable configs of that measurement (kept apart from the measurement code so that
editing the measurement does not retrain them):

* :class:`TrainsStylExConfig`: :class:`~genxai.stylex.model.StylExConfig` with a binary trains task (default
  ``LongTrain``: at least three wagons, or two long ones) as the classifier to explain;
* :class:`FactorDetectorConfig`: one CNN with a regression head per ground-truth factor (:data:`FACTORS`), trained
  on renders the classifier and StylEx never saw (another seed).  It reads a factor off any image, so it can say
  which factors an edited StylEx image changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..data import ImageSet
from ..data import load as load_data
from ..models.cache import ModelConfig
from ..models.classifiers import ClassifierConfig
from .model import StylExConfig

#: Rows of the image read as background colour: the train never reaches the top and bottom rows of the frame.
BORDER_ROWS = 3

#: Ground-truth factors of a train image and the columns that measure them (one regression output per column).
#: Drawn independently by the generator (genxai.data.trains.sample_train / render), so a change of one says nothing
#: about the others.  "share of long wagons" rather than their count: the count grows with the number of wagons.
FACTORS: dict[str, tuple[str, ...]] = {
    "number of wagons": ("NumberOfWagons",),
    "share of long wagons": ("LongShare",),
    "body colour": ("BodyR", "BodyG", "BodyB"),
    "background colour": ("BackR", "BackG", "BackB"),
    "angle": ("Angle",),
    "scale": ("Scale",),
    "wheel size": ("WheelSize",),
    "wagon spacing": ("WagonSpacing",),
}
COLUMNS: tuple[str, ...] = tuple(c for cols in FACTORS.values() for c in cols)


def factor_table(images: torch.Tensor, table: pd.DataFrame) -> pd.DataFrame:
    """The :data:`COLUMNS` of every image: read from the renderer's attribute ``table`` (the background colour,
    which the renderer does not record, is the mean of the top and bottom :data:`BORDER_ROWS` rows, in [-1, 1])."""
    if len(images) != len(table):
        raise ValueError(f"{len(images)} images but {len(table)} table rows: pass the ImageSet's extra['table']")
    missing = [c for c in ("NumberOfWagons", "NumberOfLongWagons", "BodyColour", "Angle") if c not in table]
    if missing:
        raise ValueError(f"the table lacks {missing}: it must be the trains loader's extra['table']")
    body = np.array([[int(h[k : k + 2], 16) for k in (1, 3, 5)] for h in table["BodyColour"]], np.float32)
    border = torch.cat([images[:, :, :BORDER_ROWS], images[:, :, -BORDER_ROWS:]], 2).mean((2, 3)).cpu().numpy()
    return pd.DataFrame(
        {
            "NumberOfWagons": table["NumberOfWagons"].to_numpy(np.float32),
            "LongShare": (table["NumberOfLongWagons"] / table["NumberOfWagons"]).to_numpy(np.float32),
            "BodyR": body[:, 0] / 127.5 - 1,
            "BodyG": body[:, 1] / 127.5 - 1,
            "BodyB": body[:, 2] / 127.5 - 1,
            "BackR": border[:, 0],
            "BackG": border[:, 1],
            "BackB": border[:, 2],
            "Angle": table["Angle"].to_numpy(np.float32),
            "Scale": table["Scale"].to_numpy(np.float32),
            "WheelSize": table["WheelSize"].to_numpy(np.float32),
            "WagonSpacing": table["WagonSpacing"].to_numpy(np.float32),
        }
    )[list(COLUMNS)]


def trains_classifier(
    task: str = "LongTrain", n_images: int = 5000, img_size: int = 32, **settings: Any
) -> ClassifierConfig:
    """The classifier StylEx explains: genxai's SmallCNN on a balanced binary trains task (labels 0 / 1)."""
    from ..data.trains import RENDERER

    settings = {"max_rotate": 0.0, "max_shift": 1, **settings}
    return ClassifierConfig(
        dataset="trains",
        data_kwargs={"task": task, "n_images": n_images, "img_size": img_size, "renderer": RENDERER},
        **settings,
    )


@dataclass
class TrainsStylExConfig(StylExConfig):
    """StylEx explaining a classifier of a binary trains task (profiles: ``trains_coherence`` in stylex.json)."""

    family = "stylex_trains"

    classifier: ClassifierConfig = field(default_factory=trains_classifier)

    def __post_init__(self):
        if isinstance(self.classifier, dict):
            self.classifier = ClassifierConfig.from_dict(self.classifier)
        if self.classifier.dataset != "trains":
            raise ValueError(
                f"TrainsStylExConfig explains a trains classifier, got dataset {self.classifier.dataset!r}"
            )
        super().__post_init__()

    def data(self, split: str) -> ImageSet:
        c = self.classifier
        n = self.n_train if split == "train" else None
        return load_data(c.dataset, split, size=c.size, n=n, seed=self.seed, **c.data_kwargs)


class DetectorNet(nn.Module):
    """Strided conv-BN-ReLU blocks, global average pool, one linear output per factor column (standardised)."""

    def __init__(self, in_channels: int = 3, n_outputs: int = len(COLUMNS), width: int = 32):
        super().__init__()
        w = width
        layers: list[nn.Module] = []
        for c_in, c_out, stride in ((in_channels, w, 1), (w, 2 * w, 2), (2 * w, 2 * w, 1), (2 * w, 4 * w, 2)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * w, n_outputs)
        # standardisation of the targets (set from the training renders); predict() returns raw units
        self.register_buffer("mean", torch.zeros(n_outputs))
        self.register_buffer("std", torch.ones(n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised factor values (N, n_outputs)."""
        return self.head(self.body(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
        """Factor values in the units of :func:`factor_table` (N, n_outputs)."""
        was = self.training
        self.eval()
        out = torch.cat([self(x[i : i + batch]) for i in range(0, len(x), batch)]) if len(x) else x.new_zeros(0)
        self.train(was)
        return out * self.std + self.mean


def r2_scores(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column: 1 - SS_res / SS_tot (0: no better than the mean)."""
    ss_res = ((truth - pred) ** 2).sum(0)
    ss_tot = ((truth - truth.mean(0)) ** 2).sum(0)
    return 1 - ss_res / np.maximum(ss_tot, 1e-12)


@dataclass
class FactorDetectorConfig(ModelConfig):
    """Attribute detectors: :class:`DetectorNet` regressing every factor of :data:`FACTORS` from a train image.

    Trained on renders of its own seed (``render_seed``): neither the classifier nor StylEx saw them.  Mean squared
    error on standardised targets, Adam with a cosine schedule, random one-pixel shifts (a shift changes no factor).
    """

    family = "trains_factor_detector"

    task: str = "LongTrain"  # the renders are balanced for this task, as the classifier's
    n_images: int = 6000
    img_size: int = 32
    render_seed: int = 7  # the classifier and StylEx use seed 0's renders
    epochs: int = 8
    batch_size: int = 64
    lr: float = 3e-3
    width: int = 24
    seed: int = 0

    def data(self, split: str) -> tuple[torch.Tensor, pd.DataFrame]:
        """Images and their :func:`factor_table` (train / test: the loader's disjoint seed streams)."""
        from ..data.trains import RENDERER

        ds = load_data(
            "trains",
            split,
            task=self.task,
            n_images=self.n_images,
            img_size=self.img_size,
            seed=self.render_seed,
            renderer=RENDERER,
        )
        return ds.images, factor_table(ds.images, ds.extra["table"])

    def build(self) -> nn.Module:
        return DetectorNet(3, len(COLUMNS), self.width)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..train import Trainer

        x_train, f_train = self.data("train")
        x_test, f_test = self.data("test")
        y = torch.tensor(f_train.to_numpy(np.float32))  # a copy: pandas' buffer is read-only
        model.mean.copy_(y.mean(0))
        model.std.copy_(y.std(0).clamp_min(1e-6))
        y = (y - model.mean) / model.std
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.epochs))
        trainer = Trainer.for_config(
            self, model, {"adam": opt}, checkpoint, "trains_factor_detector", progress, schedulers={"lr": sched}
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen, batches = trainer.batches(epoch, len(x_train), self.batch_size)
            model.train()
            total = 0.0
            for idx in batches:
                x = x_train[idx]
                dx, dy = torch.randint(-1, 2, (2,), generator=gen).tolist()
                x = torch.roll(x, (dy, dx), (2, 3))
                loss = F.mse_loss(model(x.to(device)), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item()
            return {"loss": total / max(1, len(batches))}

        history = trainer.fit(epoch_fn)
        r2 = r2_scores(model.predict(x_test.to(device)).cpu().numpy(), f_test.to_numpy(np.float32))
        return {"metrics": {"test_r2": dict(zip(COLUMNS, map(float, r2)))}, "history": history}
