"""StylEx (Lang et al. 2021) as reproduced by "[Re] Explaining in Style": a StyleGAN2 trained together with an
encoder so that w = [E(x), c(x)] reconstructs x, where c(x) is the frozen classifier's output (logits in the
"old" architecture, softmax in the "new" one).

Losses of one generator step (the repro's ``stylex_train.py``; notes section 4), alternating between two paths:

* encoder path (even steps): x' = G([E(x), c(x)]);
  rec = L1(x, x') + perceptual_weight * L1(C.features(x), C.features(x')) + latent_weight * L1(E(x'), E(x));
  kl = KL(softmax C(x) || softmax C(x')) (``KLDivLoss(batchmean, log_target=True)``);
  loss_G = adv(x') + rec_scaling * rec + kl_scaling * kl.
  The perceptual term is LPIPS(AlexNet) on per-image min-max rescaled inputs as in the repro (``perceptual="lpips"``,
  user-supplied weights, :mod:`genxai.stylex.lpips`; the ``paper`` profile) or, where those weights are absent,
  L1 between our classifier's penultimate features (``perceptual="classifier"``; the ``smoke`` and ``cpu`` profiles).
* mapping path (odd steps): x' = G([mapping(z), c(x_batch)]); loss_G = adv(x').

D: hinge loss, lazy R1 on reals every ``r1_every`` steps (weight r1_gamma / 2 * r1_every).  "old": one Adam for
mapping + G + E; "new": the encoder in its own parameter group at ``encoder_lr``, a conditional D weighted by the
class probabilities.  G EMA (decay ``ema_beta``) is kept in ``model.G_ema`` and used for explanations.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data import balanced_indices
from ..data import load as load_data
from ..data.base import ImageSet, resize
from ..models.cache import ModelConfig
from ..models.classifiers import ClassifierConfig, SmallCNN
from ..models.gan_parts import freeze
from .networks import Discriminator, Encoder, MappingNetwork, StyleGenerator, r1_penalty

ARCHS = ("old", "new")
PERCEPTUAL = ("classifier", "lpips")
_LPIPS: dict[str, torch.nn.Module] = {}


def _lpips_net(digest: str) -> torch.nn.Module:
    """The user's LPIPS network, loaded once per process; refuses weights other than those the config was keyed by."""
    if digest not in _LPIPS:
        from .lpips import from_files, weights_digest

        found = weights_digest()
        if found != digest:
            raise ValueError(
                f"the LPIPS weight files changed since this config was made (sha256 {found[:12]}, config "
                f"{digest[:12]}): build the config again so that its cache key names the weights it trains with"
            )
        _LPIPS[digest] = from_files()
    return _LPIPS[digest]


def minmax(x: torch.Tensor) -> torch.Tensor:
    """Each image rescaled to span [-1, 1], as the repro feeds LPIPS (notes section 4)."""
    lo = x.amin((1, 2, 3), keepdim=True)
    hi = x.amax((1, 2, 3), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(1e-8) * 2 - 1


def load_pair(dataset: str, classes: tuple[int, int], split: str, size: int | None, n: int | None, seed: int):
    """The images of two classes of ``dataset`` relabelled 0 / 1 (a seeded subset of ``n`` of them)."""
    if len(classes) != 2 or classes[0] == classes[1]:
        raise ValueError(f"classes must be two different class indices, got {classes}")
    full = load_data(dataset, split)  # resized after the pair is taken: resizing all classes costs seconds
    missing = [c for c in classes if not (full.labels == c).any()]
    if missing:
        raise ValueError(f"{dataset} has no class {missing}; its classes are 0..{full.n_classes - 1}: {full.classes}")
    keep = torch.nonzero((full.labels == classes[0]) | (full.labels == classes[1])).flatten()
    pair = full.take(keep)
    labels = (pair.labels == classes[1]).long()
    names = (full.classes[classes[0]], full.classes[classes[1]])
    pair = ImageSet(pair.images, labels, names, f"{dataset}_pair", split, pair.source).subset(n, seed)
    return ImageSet(resize(pair.images, size), pair.labels, names, pair.name, split, pair.source)


@dataclass
class PairClassifierConfig(ClassifierConfig):
    """The classifier StylEx explains: a SmallCNN on two classes of a data set (labels 0 / 1).

    Default pair: Fashion-MNIST sneaker (7) vs ankle boot (9).  They differ by a visible, localised attribute, the
    shaft rising over the ankle (with a taller heel and sole), that a human can name and check in a GIF, and a small
    CNN separates them far better than shirt vs T-shirt (sleeves, collar, buttons: a few pixels at 32 px, often
    confused), so a flip under a style shift reflects the attribute rather than the classifier's own errors.
    """

    family = "stylex_classifier"

    dataset: str = "fashion_mnist"
    classes: tuple[int, int] = (7, 9)  # Fashion-MNIST sneaker vs ankle boot
    size: int | None = 32

    def data(self, split: str):
        return load_pair(
            self.dataset, self.classes, split, self.size, self.n_train if split == "train" else None, self.seed
        )


class StylEx(nn.Module):
    """The trained parts: mapping, G, G_ema, D, E and (a frozen copy of) the classifier C."""

    def __init__(self, G, mapping, D, E, C, arch: str):
        super().__init__()
        self.G, self.mapping, self.D, self.E, self.C = G, mapping, D, E, C
        self.G_ema = copy.deepcopy(G)
        freeze(self.G_ema)
        self.arch = arch

    def condition(self, logits: torch.Tensor) -> torch.Tensor:
        """The classifier part of w: logits ("old") or probabilities ("new")."""
        return logits if self.arch == "old" else logits.softmax(1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """w = [E(x), c(C(x))] (the classifier is frozen; its output is not differentiated)."""
        with torch.no_grad():
            logits = self.C(x)
        return torch.cat([self.E(x), self.condition(logits)], 1)

    def reconstruct(self, x: torch.Tensor, noise=None, ema: bool = True) -> torch.Tensor:
        return (self.G_ema if ema else self.G)(self.encode(x), noise)


def kl_term(logits_x: torch.Tensor, logits_rec: torch.Tensor) -> torch.Tensor:
    """KL(softmax C(x) || softmax C(x')), ``KLDivLoss(reduction='batchmean', log_target=True)`` as the repro."""
    return F.kl_div(logits_rec.log_softmax(1), logits_x.log_softmax(1), reduction="batchmean", log_target=True)


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, beta: float) -> None:
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p, 1 - beta)


@dataclass
class StylExConfig(ModelConfig):
    """StylEx on a binary task (profiles: lib/genxai/profiles/stylex.json)."""

    family = "stylex"

    classifier: PairClassifierConfig = field(default_factory=PairClassifierConfig)
    arch: str = "old"  # "old": logits in w, one optimiser | "new": softmax, conditional D, lower encoder lr
    n_train: int | None = None  # training images (None: all of the pair)
    capacity: int = 8  # G/D/E width: channels = capacity * 2 * size / resolution, capped at fmap_max
    fmap_max: int = 128
    latent_dim: int = 64  # encoder / mapping output (w has latent_dim + 2 entries)
    mapping_depth: int = 4  # the repro uses 8
    lr: float = 2e-4  # Adam, betas (0.5, 0.9) as the repro
    encoder_lr: float = 1e-5  # "new" only: the encoder's own learning rate
    ttur_mult: float = 1.5  # D lr = lr * ttur_mult
    rec_scaling: float = 1.0
    kl_scaling: float = 1.0
    perceptual: str = "classifier"  # "classifier": L1 of C's features | "lpips": LPIPS(AlexNet), user weights
    perceptual_weight: float = 0.1
    lpips_digest: str = ""  # sha256 of the LPIPS weight files (filled in; it keys the cache)
    latent_weight: float = 0.1  # L1(E(x'), E(x))
    r1_gamma: float = 10.0
    r1_every: int = 4
    ema_beta: float = 0.995
    ema_start: int = 0  # step from which G_ema follows G (before: copied)
    epochs: int = 4  # epochs of steps_per_epoch steps (checkpointed each)
    steps_per_epoch: int = 250
    batch_size: int = 16
    seed: int = 0

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown StylEx architecture {self.arch!r}: choose one of {ARCHS}")
        if isinstance(self.classifier, dict):
            self.classifier = PairClassifierConfig.from_dict(self.classifier)
        if self.perceptual not in PERCEPTUAL:
            raise ValueError(f"unknown perceptual term {self.perceptual!r}: choose one of {PERCEPTUAL}")
        if self.perceptual == "lpips" and not self.lpips_digest:
            from .lpips import weights_digest

            self.lpips_digest = weights_digest()  # raises, naming the missing file, before anything trains

    def perceptual_term(self, model: StylEx, fake: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The perceptual part of the reconstruction loss (notes section 4)."""
        if self.perceptual == "classifier":
            return F.l1_loss(model.C.features(fake), model.C.features(x))
        net = _lpips_net(self.lpips_digest).to(x.device)
        return net(minmax(fake), minmax(x)).mean()

    def data(self, split: str) -> ImageSet:
        c = self.classifier
        return load_pair(c.dataset, c.classes, split, c.size, self.n_train if split == "train" else None, self.seed)

    def build(self) -> StylEx:
        c = self.classifier
        test = c.data("test")
        ch, size, _ = test.shape
        clf = SmallCNN(in_channels=ch, n_classes=2, img_size=size, width=c.width)
        G = StyleGenerator(size, self.latent_dim + 2, self.capacity, self.fmap_max, ch)
        mapping = MappingNetwork(self.latent_dim, self.latent_dim, self.mapping_depth)
        D = Discriminator(size, self.capacity, self.fmap_max, ch, n_classes=2 if self.arch == "new" else 0)
        E = Encoder(size, self.latent_dim, self.capacity, self.fmap_max, ch)
        return StylEx(G, mapping, D, E, freeze(clf), self.arch)

    def optimizers(self, model: StylEx) -> dict[str, torch.optim.Optimizer]:
        betas = (0.5, 0.9)
        gen = [*model.G.parameters(), *model.mapping.parameters()]
        if self.arch == "old":
            opt_g = torch.optim.Adam([*gen, *model.E.parameters()], lr=self.lr, betas=betas)
        else:
            groups = [{"params": gen}, {"params": list(model.E.parameters()), "lr": self.encoder_lr}]
            opt_g = torch.optim.Adam(groups, lr=self.lr, betas=betas)
        opt_d = torch.optim.Adam(model.D.parameters(), lr=self.lr * self.ttur_mult, betas=betas)
        return {"g": opt_g, "d": opt_d}

    def step(self, model: StylEx, x: torch.Tensor, step: int, gen: torch.Generator, opts) -> dict[str, float]:
        """One D step and one G step on the real batch ``x``; the path alternates with ``step``."""
        with torch.no_grad():
            logits = model.C(x)
        cond = model.condition(logits)
        probs = logits.softmax(1) if self.arch == "new" else None
        encoder_path = step % 2 == 0

        def fake_batch():
            if encoder_path:
                return model.G(torch.cat([model.E(x), cond], 1))
            z = torch.randn(len(x), self.latent_dim, generator=gen).to(x.device)
            return model.G(torch.cat([model.mapping(z), cond], 1))

        # ---- D: hinge, lazy R1 on reals
        opt_g, opt_d = opts["g"], opts["d"]
        with torch.no_grad():
            fake = fake_batch()
        real = x.detach().requires_grad_(step % self.r1_every == 0)
        score_real = model.D(real, probs)
        loss_d = hinge_d(score_real, model.D(fake, probs))
        logs = {"loss_d": loss_d.item()}
        if real.requires_grad:
            r1 = r1_penalty(score_real, real)
            loss_d = loss_d + self.r1_gamma / 2 * r1 * self.r1_every
            logs["r1"] = r1.item()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # ---- G (+ E, + mapping)
        fake = fake_batch()
        loss_g = -model.D(fake, probs).mean()
        logs["adv_g"] = loss_g.item()
        if encoder_path:
            logits_rec = model.C(fake)
            rec = (
                F.l1_loss(fake, x)
                + self.perceptual_weight * self.perceptual_term(model, fake, x)
                + self.latent_weight * F.l1_loss(model.E(fake), model.E(x).detach())
            )
            kl = kl_term(logits, logits_rec)
            loss_g = loss_g + self.rec_scaling * rec + self.kl_scaling * kl
            logs |= {"rec": rec.item(), "kl": kl.item()}
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if step >= self.ema_start:
            ema_update(model.G_ema, model.G, self.ema_beta)
        else:
            model.G_ema.load_state_dict(model.G.state_dict())
        return logs

    def fit(self, model: StylEx, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..models import get_or_train
        from ..train import Trainer

        clf = get_or_train(self.classifier, device=device, progress=progress)
        model.C.load_state_dict(clf.model.state_dict())
        freeze(model.C)
        train = self.data("train")
        test = self.data("test")
        # a class-balanced sample (the split is sorted by class: its first images are all one class)
        monitor = test.images[balanced_indices(test.labels, min(128, *torch.bincount(test.labels).tolist()))]
        opts = self.optimizers(model)
        trainer = Trainer.for_config(self, model, opts, checkpoint, f"stylex/{self.arch}", progress)

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen, batches = trainer.batches(epoch, len(train), self.batch_size)
            if not batches:
                raise ValueError(f"batch_size {self.batch_size} exceeds the {len(train)} training images")
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}
            for i in range(self.steps_per_epoch):
                x = train.images[batches[i % len(batches)]].to(device)
                model.C.eval()
                for k, v in self.step(model, x, epoch * self.steps_per_epoch + i, gen, opts).items():
                    sums[k] = sums.get(k, 0.0) + v
                    counts[k] = counts.get(k, 0) + 1
            logs = {k: sums[k] / counts[k] for k in sums}
            logs["decision_kept"] = decision_kept(model, monitor.to(device))  # the learning curve of the target
            return logs

        history = trainer.fit(epoch_fn)
        kept = decision_kept(model, monitor.to(device))
        metrics = {
            "n_train": len(train),
            "classifier_test_acc": clf.metrics.get("test_acc"),
            "decision_kept": kept,  # on the balanced monitor sample; notebook 01 measures more images
            "n_coords": model.G.n_coords,
            "data_source": train.source,
        }
        return {"metrics": metrics, "history": history}


@torch.no_grad()
def decision_kept(model: StylEx, x: torch.Tensor, batch: int = 128) -> float:
    """Fraction of images whose reconstruction G_ema([E(x), c(x)]) gets the classifier's decision on x."""
    was = model.training
    model.eval()
    same = []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        same.append(model.C(model.reconstruct(xb)).argmax(1) == model.C(xb).argmax(1))
    model.train(was)
    return float(torch.cat(same).float().mean()) if same else float("nan")


def config_from_profile(profile: str, **overrides: Any) -> StylExConfig:
    """The StylEx config of profile ``smoke`` | ``cpu`` | ``paper`` (lib/genxai/profiles/stylex.json)."""
    from .. import profiles

    p = profiles.get("stylex", profile)
    clf = dict(p.classifier)
    clf["classes"] = tuple(clf["classes"])
    return StylExConfig(classifier=PairClassifierConfig(**clf), **{**p.stylex, **overrides})
