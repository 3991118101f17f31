"""InfoGAN codes on the handwriting generator: the work's unfinished future work (its Discussion), done.

InfoGAN (Chen et al. 2016, Eq. 5-6): ``min_{G,Q} max_D V(D, G) - λ L_I(G, Q)`` with a categorical code c_cat
(``n_cat`` values) and continuous codes c_cont ~ U(-1, 1).  On ScrabbleGAN the codes replace the first entries of
the *first residual block's* chunk of z (the chunk its conditional BatchNorm reads, so they set the word's coarse
style, not its characters: the filter-bank chunk stays noise).  Q reads the discriminator's last feature map
averaged over positions (a mean, so any word width gives one vector) through genxai's InfoGAN Q head
(:class:`genxai.gan_xai.infogan.QHead`), and is trained with G on the MI bound
(:func:`genxai.gan_xai.infogan.info_loss`: cross-entropy of the category + Gaussian NLL of the continuous
codes).  Everything else is ScrabbleGAN's loop (:class:`~genxai.scrabblegan.train.ScrabbleGANConfig.fit`: hinge D,
CTC-trained R, balanced G loss); the MI term is added to G's loss outside the balancing, with InfoGAN's weights
(1 categorical, 0.1 continuous).

:func:`code_effects` measures what each code controls with the measures of the latent directions (ink width,
slant, length, CER by an independent recogniser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..gan_xai.infogan import QHead, info_loss
from .model import Discriminator, Generator, Recogniser, ScrabbleGAN
from .train import ScrabbleGANConfig, alphabet_of


class ScrabbleInfoGAN(ScrabbleGAN):
    """G, D, R and the Q head in one module."""

    def __init__(self, G: Generator, D: Discriminator, R: Recogniser, Q: QHead, n_cat: int, n_cont: int):
        super().__init__(G, D, R)
        self.Q, self.n_cat, self.n_cont = Q, n_cat, n_cont

    @property
    def code_slice(self) -> slice:
        """Where the codes sit in z: the start of the first residual block's chunk."""
        start = self.G.z_chunk
        return slice(start, start + self.n_cat + self.n_cont)

    def compose(self, z: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        """z with its code entries replaced by one-hot(cat) and cont."""
        z = z.clone()
        z[:, self.code_slice] = torch.cat([F.one_hot(cat.long(), self.n_cat).to(z), cont.to(z)], 1)
        return z

    def q(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.Q(self.D.features(images).mean((2, 3)))


@dataclass
class ScrabbleInfoGANConfig(ScrabbleGANConfig):
    """ScrabbleGAN with InfoGAN codes (see the module doc)."""

    family = "scrabblegan_infogan"

    n_cat: int = 4  # values of the categorical style code
    n_cont: int = 2  # continuous style codes, U(-1, 1)
    lambda_cat: float = 1.0  # MI weights (InfoGAN's)
    lambda_cont: float = 0.1

    def build(self) -> ScrabbleInfoGAN:
        if self.n_cat + self.n_cont > self.z_dim // 4:
            raise ValueError(
                f"{self.n_cat} + {self.n_cont} code entries do not fit in one z chunk of {self.z_dim // 4}: "
                "raise z_dim or use fewer codes"
            )
        chars = alphabet_of(self.dataset)
        D = Discriminator(self.d_ch)
        return ScrabbleInfoGAN(
            Generator(chars, self.z_dim, self.g_ch, self.attention, attention_at=self.attention_at),
            D,
            Recogniser(len(chars) + 1, self.r_width),
            QHead(4 * self.d_ch, self.n_cat, self.n_cont, hidden=64),
            self.n_cat,
            self.n_cont,
        )

    def g_parameters(self, model: ScrabbleInfoGAN) -> list[torch.nn.Parameter]:
        return list(model.G.parameters()) + list(model.Q.parameters())  # Q trained with G (InfoGAN)

    def sample_z(self, model: ScrabbleInfoGAN, n: int, generator: torch.Generator) -> tuple[torch.Tensor, Any]:
        z = torch.randn(n, model.G.latent_dim, generator=generator)
        cat = torch.randint(0, self.n_cat, (n,), generator=generator)
        cont = torch.rand(n, self.n_cont, generator=generator) * 2 - 1
        return model.compose(z, cat, cont), (cat, cont)

    def extra_g_loss(self, model: ScrabbleInfoGAN, fake: torch.Tensor, aux: Any) -> tuple[torch.Tensor, dict]:
        cat, cont = aux
        mi, ce, nll = info_loss(model.q(fake), cat, cont, self.lambda_cat, self.lambda_cont)
        return mi, {"mi_ce_cat": ce.item(), "mi_nll_cont": nll.item()}


@torch.no_grad()
def code_accuracy(model: ScrabbleInfoGAN, texts: list[str], generator: torch.Generator) -> dict[str, float]:
    """How well Q recovers the codes from fresh samples: categorical accuracy (chance 1/n_cat) and the
    correlation of Q's mean with each continuous code."""
    model.eval()
    n = len(texts)
    z = torch.randn(n, model.G.latent_dim, generator=generator)
    cat = torch.randint(0, model.n_cat, (n,), generator=generator)
    cont = torch.rand(n, model.n_cont, generator=generator) * 2 - 1
    dev = next(model.parameters()).device
    logits, mu, _ = model.q(model.G(model.compose(z, cat, cont).to(dev), text=texts))
    corr = [float(torch.corrcoef(torch.stack([mu[:, j].cpu(), cont[:, j]]))[0, 1]) for j in range(model.n_cont)]
    return {
        "cat_accuracy": float((logits.argmax(1).cpu() == cat).float().mean()),
        "chance": 1.0 / model.n_cat,
        "cont_corr": corr,
    }


@torch.no_grad()
def code_effects(
    model: ScrabbleInfoGAN,
    recogniser: Recogniser,
    texts: list[str],
    generator: torch.Generator,
    cont_range: float = 1.0,
) -> list[dict[str, Any]]:
    """Each code's effect with the measures of :func:`genxai.scrabblegan.directions.word_effects`.

    Categorical code: every value written with the same noise and continuous codes; the effect of a measure is
    the range of its per-value means (max - min), and the CER change the worst value's CER minus the mean CER.
    Continuous code j: set to -``cont_range`` and +``cont_range`` (others random), effect = mean difference.
    Effects are standardised by the spread of the measure across z (its standard deviation at random codes).
    """
    from .directions import MEASURES, dominant, measure_images, standardise

    model.eval()
    G = model.G
    n = len(texts)
    dev = next(model.parameters()).device
    z = torch.randn(n, G.latent_dim, generator=generator)
    cat = torch.randint(0, model.n_cat, (n,), generator=generator)
    cont = torch.rand(n, model.n_cont, generator=generator) * 2 - 1

    def measure(c, k):
        return measure_images(G(model.compose(z, c, k).to(dev), text=texts), texts, recogniser, G.alphabet)

    base = measure(cat, cont)
    spread = {m: float(base[m].std()) for m in MEASURES}
    out = []
    per_value = [measure(torch.full((n,), v), cont) for v in range(model.n_cat)]
    means = {m: torch.tensor([float(pv[m].mean()) for pv in per_value]) for m in MEASURES}
    effect = {m: float(means[m].max() - means[m].min()) for m in MEASURES}
    cers = [pv["cer"] for pv in per_value]
    row = {"code": "categorical", "cer_base": base["cer"], "cer_change": 100 * (max(cers) - sum(cers) / len(cers))}
    row |= {f"d_{m}": effect[m] for m in MEASURES} | {f"z_{m}": v for m, v in standardise(effect, spread).items()}
    row |= {f"{m}_by_value": means[m].tolist() for m in MEASURES}
    out.append(row | {"effect": dominant(row)})
    for j in range(model.n_cont):
        sides = []
        for s in (-cont_range, cont_range):
            k = cont.clone()
            k[:, j] = s
            sides.append(measure(cat, k))
        effect = {m: float((sides[1][m] - sides[0][m]).nanmean()) for m in MEASURES}
        row = {
            "code": f"continuous {j}",
            "cer_base": base["cer"],
            "cer_change": 100 * (max(s["cer"] for s in sides) - base["cer"]),
        }
        row |= {f"d_{m}": effect[m] for m in MEASURES} | {f"z_{m}": v for m, v in standardise(effect, spread).items()}
        out.append(row | {"effect": dominant(row)})
    return out


def code_grid(
    model: ScrabbleInfoGAN, text: str, generator: torch.Generator, n_steps: int = 5, cont_range: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """One word under the codes: ``(categorical, continuous)`` image grids.

    categorical (n_cat, n_steps, 1, 32, 16n): row v writes category v with n_steps noise vectors (the same in
    every row; continuous codes 0); continuous (n_cont, n_steps, ...): row j sweeps code j over
    [-range, range] with one noise vector (category 0, other codes 0).
    """
    G = model.G
    dev = next(model.parameters()).device
    noise = torch.randn(n_steps, G.latent_dim, generator=generator)
    steps = torch.linspace(-cont_range, cont_range, n_steps)
    words = [text] * n_steps
    model.eval()
    with torch.no_grad():
        zero = torch.zeros(n_steps, model.n_cont)
        cats = [
            G(model.compose(noise, torch.full((n_steps,), v), zero).to(dev), text=words) for v in range(model.n_cat)
        ]
        one = noise[:1].repeat(n_steps, 1)
        conts = []
        for j in range(model.n_cont):
            cont = torch.zeros(n_steps, model.n_cont)
            cont[:, j] = steps
            conts.append(G(model.compose(one, torch.zeros(n_steps), cont).to(dev), text=words))
    return torch.stack(cats).cpu(), torch.stack(conts).cpu()
