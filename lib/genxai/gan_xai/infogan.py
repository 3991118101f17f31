"""InfoGAN (Chen et al. 2016) on MNIST: noise + 10-way categorical + 2 continuous codes.

The generator is :class:`~genxai.gan_xai.gan.Generator` fed [noise ; one-hot(c) ; c_cont];
a Q head on the discriminator's body predicts the codes, and the generator and Q
maximise the variational mutual-information bound (InfoGAN Eq. 5):
``L_info = 1.0 * CE(Q_cat, c) + 0.1 * GaussianNLL(Q_mu; c_cont)``.
Q is optimised with G (as the PyTorch port Natsu6767/InfoGAN-PyTorch; default).  The
authors' code (openai/InfoGAN, ``infogan_trainer.py``) also minimises the MI term in the
discriminator step over D's body, D's head and Q (``mi_in_d=True``), and fixes the continuous
codes' Gaussian at unit variance (``fixed_std=True``).  Both switches are kept, but in our
cpu profile (seed 0, 20 epochs) that variant matched only 0.45 of the generated digits to
codes, against 0.74-0.77 for the default (15 epochs; runs with 2 and 1 threads).

Ours, off by default (``lambda_aug=0`` is plain InfoGAN): ``lambda_aug`` adds the categorical
CE of Q on randomly rotated (up to ``aug_degrees``), shifted and zoomed fakes to G's and Q's
loss, so the code must survive identity-preserving transformations (the idea of
Elastic-InfoGAN, Ojha et al. 2020, as an extra loss term instead of its contrastive loss).
Plain InfoGAN often spends codes on slant (two codes for upright and slanted 1s) and then
merges two digits into one code; a code that must survive a rotation cannot encode slant.
D's body runs once more per step, on the transformed fakes.  How it compares with plain InfoGAN
over seeds: studies/gan_xai.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.cache import ModelConfig
from ..models.classifiers import random_affine  # the classifiers' training augmentation, reused
from .gan import Discriminator, Generator, gan_losses


class QHead(nn.Module):
    """Q(c | x) from the discriminator features: categorical logits, Gaussian mean and log-variance."""

    def __init__(self, feature_dim: int, n_cat: int, n_cont: int, hidden: int = 128):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(feature_dim, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2))
        self.cat = nn.Linear(hidden, n_cat)
        self.mu = nn.Linear(hidden, n_cont)
        self.logvar = nn.Linear(hidden, n_cont)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = self.trunk(h)
        return self.cat(t), self.mu(t), self.logvar(t)


class InfoGenerator(nn.Module):
    """Wraps a Generator whose input is [noise ; one-hot(cat) ; cont]; protocol over the whole input."""

    def __init__(
        self,
        noise_dim: int = 62,
        n_cat: int = 10,
        n_cont: int = 2,
        width: int = 64,
        attention: bool = False,
        hidden: int = 1024,
    ):
        super().__init__()
        self.noise_dim, self.n_cat, self.n_cont = noise_dim, n_cat, n_cont
        self.latent_dim = noise_dim + n_cat + n_cont
        self.net = Generator(self.latent_dim, 0, width=width, attention=attention, hidden=hidden)

    def compose(self, noise: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        """The generator input for noise (N, noise_dim), category indices (N,), codes (N, n_cont)."""
        return torch.cat([noise, F.one_hot(cat.long(), self.n_cat).to(noise), cont.to(noise)], 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def generate(self, noise: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        return self.net(self.compose(noise, cat, cont))

    def sample_codes(self, n: int, generator: torch.Generator | None = None):
        dev = next(self.parameters()).device
        noise = torch.randn(n, self.noise_dim, generator=generator).to(dev)
        cat = torch.randint(0, self.n_cat, (n,), generator=generator).to(dev)
        cont = (torch.rand(n, self.n_cont, generator=generator) * 2 - 1).to(dev)  # U(-1, 1)
        return noise, cat, cont

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.compose(*self.sample_codes(n, generator))

    def sample_condition(self, n: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        return {}


class InfoGAN(nn.Module):
    def __init__(self, G: InfoGenerator, D: Discriminator, Q: QHead):
        super().__init__()
        self.G, self.D, self.Q = G, D, Q


def info_loss(
    q: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    cat: torch.Tensor,
    cont: torch.Tensor,
    lambda_cat: float = 1.0,
    lambda_cont: float = 0.1,
    fixed_std: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative MI lower bound: CE on the categorical code + Gaussian NLL on the continuous ones
    (with ``fixed_std`` the Gaussian has unit variance and Q's log-variance output is ignored)."""
    logits, mu, logvar = q
    if fixed_std:
        logvar = torch.zeros_like(mu)
    ce = F.cross_entropy(logits, cat.long())
    nll = 0.5 * (logvar + (cont - mu) ** 2 / logvar.exp()).sum(1).mean()  # constant log(2 pi) dropped
    return lambda_cat * ce + lambda_cont * nll, ce, nll


@dataclass
class InfoGANConfig(ModelConfig):
    family = "gan_xai_infogan"

    dataset: str = "mnist"
    n_train: int | None = None
    noise_dim: int = 62  # incompressible noise (InfoGAN's MNIST setting)
    n_cat: int = 10  # one 10-way categorical code
    n_cont: int = 2  # two continuous codes, U(-1, 1)
    lambda_cat: float = 1.0  # MI weight of the categorical code (InfoGAN paper)
    lambda_cont: float = 0.1  # MI weight of the continuous codes (InfoGAN paper)
    fixed_std: bool = False  # unit-variance Gaussian for the continuous codes (InfoGAN's code for MNIST)
    mi_in_d: bool = False  # True: the D step also minimises the MI term over D's body and Q (InfoGAN's code)
    lambda_aug: float = 0.0  # ours, 0 = plain InfoGAN: weight of the categorical CE on randomly rotated,
    # shifted and zoomed fakes (identity-preserving transformations, as Elastic-InfoGAN,
    # Ojha et al. 2020): the code may not be carried by slant or position
    aug_degrees: float = 25.0  # largest rotation of those transformations, degrees
    aug_shift: int = 2  # largest shift, pixels (zoom: 0.9-1.1, random_affine's default)
    width: int = 64
    attention: bool = False
    hidden: int = 1024  # FC layer of G (after the input) and of D (before the heads), as in InfoGAN
    epochs: int = 20
    batch_size: int = 64
    lr_d: float = 2e-4
    lr_g: float = 1e-3  # InfoGAN's MNIST G/Q rate (D 2e-4)
    beta1: float = 0.5
    seed: int = 0

    def build(self) -> InfoGAN:
        D = Discriminator(0, self.width, self.attention, hidden=self.hidden)
        return InfoGAN(
            InfoGenerator(self.noise_dim, self.n_cat, self.n_cont, self.width, self.attention, self.hidden),
            D,
            QHead(D.feature_dim, self.n_cat, self.n_cont),
        )

    def fit(self, model: InfoGAN, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from .. import data
        from ..train import Trainer

        train = data.load(self.dataset, "train", n=self.n_train, seed=self.seed)
        G, D, Q = model.G, model.D, model.Q
        # Q is trained with G by default; with mi_in_d it joins the discriminator side, as in InfoGAN's code
        d_params = list(D.parameters()) + (list(Q.parameters()) if self.mi_in_d else [])
        g_params = list(G.parameters()) + ([] if self.mi_in_d else list(Q.parameters()))
        opt_d = torch.optim.Adam(d_params, lr=self.lr_d, betas=(self.beta1, 0.999))
        opt_g = torch.optim.Adam(g_params, lr=self.lr_g, betas=(self.beta1, 0.999))
        trainer = Trainer.for_config(
            self, model, {"g": opt_g, "d": opt_d}, checkpoint, f"infogan/{self.dataset}", progress
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen, batches = trainer.batches(epoch, len(train), self.batch_size)
            sums, steps = {"loss_d": 0.0, "loss_g": 0.0, "ce_cat": 0.0, "nll_cont": 0.0}, 0
            for idx in batches:
                real = train.images[idx].to(device)
                noise, cat, cont = G.sample_codes(len(idx), gen)
                fake = G.generate(noise, cat, cont)
                loss_d = (
                    d_step_loss(D, Q, real, fake.detach(), cat, cont, self)
                    if self.mi_in_d
                    else gan_losses(D(real), D(fake.detach()))
                )
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                h = D.features(fake)
                adv = F.softplus(-D.head(h).squeeze(1)).mean()
                mi, ce, nll = info_loss(Q(h), cat, cont, self.lambda_cat, self.lambda_cont, self.fixed_std)
                loss_g = adv + mi
                if self.lambda_aug:
                    # global RNG: seeded by get_or_train and checkpointed by the Trainer, so a resumed run is the same
                    moved = random_affine(fake, self.aug_shift, self.aug_degrees)
                    loss_g = loss_g + self.lambda_aug * F.cross_entropy(Q(D.features(moved))[0], cat.long())
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()  # grads reaching D's body (and Q with mi_in_d) are discarded by opt_d.zero_grad
                opt_g.step()
                for k, v in (("loss_d", loss_d), ("loss_g", loss_g), ("ce_cat", ce), ("nll_cont", nll)):
                    sums[k] += v.item()
                steps += 1
            return {k: v / max(steps, 1) for k, v in sums.items()}

        history = trainer.fit(epoch_fn)
        return {"metrics": {"n_train": len(train), "data_source": train.source}, "history": history}


def d_step_loss(
    D: Discriminator,
    Q: QHead,
    real: torch.Tensor,
    fake: torch.Tensor,
    cat: torch.Tensor,
    cont: torch.Tensor,
    config: InfoGANConfig,
) -> torch.Tensor:
    """InfoGAN's discriminator loss: GAN loss + the MI term on the fakes, one pass through D's body."""
    h_fake = D.features(fake)
    mi = info_loss(Q(h_fake), cat, cont, config.lambda_cat, config.lambda_cont, config.fixed_std)[0]
    return gan_losses(D(real), D.head(h_fake).squeeze(1)) + mi


@torch.no_grad()
def code_predictions(
    G: InfoGenerator, classifier: nn.Module, n_per_code: int = 100, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``n_per_code`` images per categorical value; return (codes, classifier labels)."""
    from ..models import predict_logits

    codes, preds = [], []
    for c in range(G.n_cat):
        noise, _, cont = G.sample_codes(n_per_code, generator)
        cat = torch.full((n_per_code,), c, device=noise.device)
        preds.append(predict_logits(classifier, G.generate(noise, cat, cont).cpu()).argmax(1))
        codes.append(cat.cpu())
    return torch.cat(codes), torch.cat(preds)
