"""GANMEX: class-targeted baselines from a StarGAN whose class discriminator is the classifier.

Generator loss (GANMEX Eq. 9), with x~ = G(x, c_t)::

    L_G = lambda_adv * adv(D_src(x~)) + lambda_cls * CE(S(x~), c_t)
          + lambda_rec * |x - G(x~, c_o)|_1 + lambda_sim * |x - x~|_1

S is the frozen to-be-explained classifier (logits).  ``adversarial="wgan-gp"`` is what the
authors' code ran (Wasserstein loss + gradient penalty 10); ``"log"`` is the paper's log-loss
(Eq. 3; we use the non-saturating generator form, as is standard).  Target classes are drawn
uniformly per sample and may equal the source class, as in the authors' code.

Ablations are switches of the same trainer:

* ``standalone=True`` (Fig. 5A): S is *not* used; StarGAN's D_cls head is trained jointly from
  scratch on real labels (Eq. 4) and the generator's class term uses it (Eq. 5).
* ``lambda_sim`` / ``lambda_rec`` set to 0 give the S, R and none variants (Fig. 5B).
* ``critic_conditional=True`` (ours, not the paper's): the critic judges (image, class) pairs, real images of
  c_t against G(x, c_t), so the generator is pushed towards a realistic image *of the target class*, not just a
  realistic image the classifier reads as c_t (see :class:`.networks.Critic`).
* ``randomised_layers=k`` (Fig. 3): fine-tune the trained GANMEX for ``finetune_steps`` against a
  copy of the classifier whose top k layers are randomised (see :mod:`.randomisation`), so the
  baseline follows the randomised model, as the paper's GANMEX baselines do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..models import ClassifierConfig, ModelConfig, get_or_train
from ..models.gan_parts import freeze, gradient_penalty
from . import networks, randomisation


class GANMEXModel(nn.Module):
    """Container of the generator and the critic; calling it runs the generator.

    With ``ema`` (a decay) it also holds an exponential moving average of the generator's weights
    (``torch.optim.swa_utils.AveragedModel``), updated after every generator step; it is part of the state, so a
    resumed run continues the same average.  When training ends the generator takes the averaged weights.
    """

    def __init__(self, generator: networks.Generator, critic: networks.Critic, ema: float = 0.0):
        super().__init__()
        self.generator, self.critic = generator, critic
        self.average = (
            AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True) if ema else None
        )

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.generator(x, c)


@dataclass
class GANMEXConfig(ModelConfig):
    """A GANMEX generator for one classifier (and its data set)."""

    family = "ganmex_generator"

    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)  # the model to explain
    n_train: int | None = 10000  # seeded subset of the classifier's training split for the GAN
    steps: int = 2000  # generator/critic updates in total
    steps_per_epoch: int = 250  # checkpoint granularity (the Trainer's "epoch")
    batch_size: int = 16
    dim: int = 16  # generator/critic width (StarGAN: 64)
    n_res: int = 2  # residual blocks (StarGAN: 6)
    residual: bool = True  # G starts at the identity (see networks.Generator)
    adversarial: str = "wgan-gp"  # "wgan-gp" (authors' code) | "log" (paper Eq. 3)
    lambda_adv: float = 0.1  # adversarial weight (code: 1); at ~1% of the steps a full-weight
    # critic drags G far from x before it learns the identity
    lambda_cls: float = 1.0  # target-class term CE(S(G(x, c_t)), c_t) (code: 1000)
    lambda_sim: float = 10.0  # similarity |x - G(x, c_t)|_1 (code: 100, help "best 1000")
    lambda_rec: float = 0.0  # reconstruction |x - G(G(x, c_t), c_o)|_1 (code HEAD: 0)
    lambda_gp: float = 10.0  # WGAN-GP gradient penalty
    lambda_cls_real: float = 1.0  # stand-alone only: D_cls loss on real images (Eq. 4)
    n_critic: int = 1  # critic updates per generator update (code: 1)
    lr_g: float = 1e-3  # Adam (code: 2e-5 / 1e-4 for 1M steps; we run a few hundred)
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    ema: float = 0.0  # ours: decay of an average of G's weights used as the final generator (0: last iterate;
    # a randomised_layers fine-tuning always keeps its last iterate)
    critic_conditional: bool = False  # ours: a projection critic on (image, class); real images of c_t
    standalone: bool = False  # Fig. 5A: class discriminator trained jointly instead of S
    randomised_layers: int = 0  # Fig. 3: fine-tune against the top-k-randomised classifier
    randomise_seed: int = 0
    finetune_steps: int = 200  # steps of that fine-tuning (from the k=0 GANMEX)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.adversarial not in ("wgan-gp", "log"):
            raise ValueError(f"adversarial must be 'wgan-gp' or 'log', got {self.adversarial!r}")
        if isinstance(self.classifier, dict):  # rebuilt from a JSON record
            self.classifier = ClassifierConfig(**self.classifier)
        self.betas = tuple(self.betas)

    def data(self):
        return self.classifier.data("train").subset(self.n_train, seed=self.seed)

    def build(self) -> GANMEXModel:
        test = self.classifier.data("test")
        c, h, _ = test.shape
        return GANMEXModel(
            networks.Generator(c, test.n_classes, self.dim, self.n_res, self.residual),
            networks.Critic(
                c,
                h,
                self.dim,
                test.n_classes if self.standalone else None,
                conditional=test.n_classes if self.critic_conditional else None,
            ),
            # a fine-tuning of a few dozen steps against a randomised classifier: an average over ~1/(1 - ema)
            # steps would hand back the intact classifier's generator, so fine-tuned generators are the last iterate
            ema=0.0 if self.randomised_layers else self.ema,
        )

    def target_classifier(self, device: torch.device) -> nn.Module | None:
        """The frozen classifier S the generator is trained against (None when stand-alone)."""
        if self.standalone:
            return None
        clf = get_or_train(self.classifier, device).model
        if self.randomised_layers:
            clf = randomisation.randomised_copy(clf, self.randomised_layers, self.randomise_seed)
        return freeze(clf)

    def fit(self, model: GANMEXModel, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..train import Trainer

        steps = self.steps
        if self.randomised_layers:
            # Start from the GANMEX of the intact classifier: retraining from scratch per layer
            # would multiply the cost by the number of layers.
            base = get_or_train(replace(self, randomised_layers=0), device, progress=progress)
            model.generator.load_state_dict(base.model.generator.state_dict())  # the averaged one, if averaged
            model.critic.load_state_dict(base.model.critic.state_dict())
            steps = self.finetune_steps
        train = self.data()
        clf = self.target_classifier(device)
        G, D = model.generator, model.critic
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr_g, betas=self.betas)
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr_d, betas=self.betas)
        epochs = math.ceil(steps / self.steps_per_epoch)
        trainer = Trainer(
            model,
            {"g": opt_g, "d": opt_d},
            epochs,
            seed=self.seed,
            checkpoint=checkpoint,
            desc=f"ganmex/{self.classifier.dataset}",
            progress=progress,
        )
        n_cls = train.n_classes

        def epoch_fn(epoch: int) -> dict[str, float]:
            g = trainer.epoch_generator(epoch)
            n_steps = min(self.steps_per_epoch, steps - epoch * self.steps_per_epoch)
            idx_all = torch.randint(len(train), (n_steps, self.batch_size), generator=g)
            targets = torch.randint(n_cls, (n_steps, self.batch_size), generator=g)
            # the critic's real images: the inputs themselves, or (conditional critic) training images of the
            # requested classes, drawn after the other draws so that the unconditional stream is unchanged
            real_all = images_of_class(train.labels, targets, g) if self.critic_conditional else idx_all
            # several processes (genxai.ddp): each its share of every batch
            idx_all, targets, real_all = (trainer.shard(t, dim=1) for t in (idx_all, targets, real_all))
            sums: dict[str, float] = {}
            for s in range(n_steps):
                x = train.images[idx_all[s]].to(device)
                y = train.labels[idx_all[s]].to(device)
                c_t = targets[s].to(device)
                real = train.images[real_all[s]].to(device)
                logs = self._d_step(G, D, opt_d, x, y, c_t, real)
                if s % self.n_critic == 0:
                    logs.update(self._g_step(G, D, clf, opt_g, x, y, c_t))
                    if model.average is not None:
                        model.average.update_parameters(G)
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
            return {k: v / n_steps for k, v in sums.items()}

        history = trainer.fit(epoch_fn)
        if model.average is not None:
            G.load_state_dict(model.average.module.state_dict())
        return {
            "metrics": evaluate(
                model.generator,
                clf if clf is not None else get_or_train(self.classifier, device).model,
                self.classifier.data("test").subset(500, seed=self.seed),
                device,
            ),
            "history": history,
        }

    # ------------------------------------------------------------------ steps
    def _critic(self, D, c_t):
        """D as the loss terms call it: on (image, c_t) pairs when the critic is conditional."""
        return (lambda z: D(z, c_t)) if self.critic_conditional else D

    def _d_step(self, G, D, opt_d, x, y, c_t, real) -> dict[str, float]:
        """``real``: the critic's real images (``x`` itself, or images of class c_t for a conditional critic)."""
        with torch.no_grad():
            fake = G(x, c_t)
        critic = self._critic(D, c_t)
        src_real, cls_real = critic(real)
        src_fake, _ = critic(fake)
        if self.adversarial == "wgan-gp":
            loss = (
                src_fake.mean()
                - src_real.mean()
                + self.lambda_gp * gradient_penalty(critic, real, fake, score=lambda out: out[0])
            )
        else:
            loss = F.softplus(-src_real).mean() + F.softplus(src_fake).mean()
        if self.standalone:
            loss = loss + self.lambda_cls_real * F.cross_entropy(cls_real, y)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        return {"loss_d": float(loss.detach())}

    def _g_step(self, G, D, clf, opt_g, x, y, c_t) -> dict[str, float]:
        fake = G(x, c_t)
        src_fake, cls_fake = self._critic(D, c_t)(fake)
        adv = -src_fake.mean() if self.adversarial == "wgan-gp" else F.softplus(-src_fake).mean()
        logits = cls_fake if self.standalone else clf(fake)
        cls = F.cross_entropy(logits, c_t)
        sim = (x - fake).abs().mean()
        loss = self.lambda_adv * adv + self.lambda_cls * cls + self.lambda_sim * sim
        rec = torch.zeros((), device=x.device)
        if self.lambda_rec:
            rec = (x - G(fake, y)).abs().mean()
            loss = loss + self.lambda_rec * rec
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        return {
            "loss_g": float(loss.detach()),
            "cls": float(cls.detach()),
            "sim": float(sim.detach()),
            "rec": float(rec.detach()),
            "hit": float((logits.argmax(1) == c_t).float().mean()),
        }


def images_of_class(labels: torch.Tensor, classes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Indices into ``labels``, one per entry of ``classes``, each drawn uniformly among the images of that class.

    The conditional critic's real side: a real image of the class the generator was asked for.
    """
    n_cls = int(max(int(labels.max()), int(classes.max())) + 1)
    counts = torch.bincount(labels, minlength=n_cls)
    missing = sorted({int(c) for c in classes.unique() if counts[c] == 0})
    if missing:
        raise ValueError(
            f"no training images of class(es) {missing} for the conditional critic: use a larger n_train "
            "or critic_conditional=False"
        )
    order = torch.argsort(labels, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    u = torch.rand(classes.shape, generator=generator)
    return order[starts[classes] + (u * counts[classes]).long().clamp_max(counts[classes] - 1)]


@torch.no_grad()
def translate(
    generator: nn.Module, images: torch.Tensor, target: torch.Tensor | int, batch_size: int = 256
) -> torch.Tensor:
    """G(x, c_t) for a batch, in eval mode, on the generator's device; returns a CPU tensor."""
    dev = next(generator.parameters()).device
    target = torch.as_tensor(target).long().reshape(-1).expand(len(images))
    was = generator.training
    generator.eval()
    out = (
        torch.cat(
            [
                generator(images[i : i + batch_size].to(dev), target[i : i + batch_size].to(dev)).cpu()
                for i in range(0, len(images), batch_size)
            ]
        )
        if len(images)
        else images.clone()
    )
    generator.train(was)
    return out


@torch.no_grad()
def evaluate(generator: nn.Module, classifier: nn.Module, test, device, seed: int = 0) -> dict[str, float]:
    """Share of G(x, c_t) classified as c_t (c_t != source, uniformly drawn) and mean L1 to x."""
    g = torch.Generator().manual_seed(seed)
    n = test.n_classes
    shift = torch.randint(1, n, (len(test),), generator=g)
    target = (test.labels + shift) % n
    fake = translate(generator, test.images, target)
    from ..models import predict_logits

    pred = predict_logits(classifier, fake).argmax(1)
    return {
        "target_rate": float((pred == target).float().mean()),
        "mean_l1": float((fake - test.images).abs().flatten(1).mean(1).mean()),
    }
