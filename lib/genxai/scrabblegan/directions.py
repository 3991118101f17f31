"""Latent directions of the handwriting generator (the work's Sec. 5.2.1 / Fig. 5.4 on ScrabbleGAN, Figs 6.9-6.10).

Voynov & Babenko's discovery (deformator A, reconstructor R; :mod:`genxai.gan_xai.directions`) runs unchanged; two
things adapt it to words of variable width:

* :class:`WordLatents` is the latent generator it explores: each batch writes words of one length (one width),
  and the length is drawn anew for every batch, so A must find directions that act on words of any length;
* the reconstructor is :class:`genxai.gan_xai.directions.Reconstructor`, whose adaptive pooling takes any width.

Each direction's effect is then measured objectively (:func:`word_effects`): ink width, slant, length in pixels
and the text kept (CER of an independent recogniser), and the direction is named by its dominant measured effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..gan_xai.directions import (
    Deformator,
    DirectionModel,
    Reconstructor,
    direction_accuracy,
    discovery_step,
)
from ..models.cache import ModelConfig
from .measures import error_rates, ink_length, ink_width, slant_of
from .model import Generator, Recogniser
from .train import ScrabbleGANConfig, WordSampler, load_text

MEASURES = ("width", "slant", "length")
#: below this |standardised effect| a direction has no dominant shape effect ("none")
MIN_EFFECT = 0.3


class WordLatents:
    """A :class:`~genxai.gan_xai.protocol.LatentGenerator` over a ScrabbleGAN generator: one word length per batch,
    drawn from ``lengths`` for every batch; the words come from ``sampler`` (the training lexicon) or are random
    strings of the alphabet."""

    def __init__(self, G: Generator, lengths: Sequence[int], sampler: WordSampler | None = None):
        if not lengths or min(lengths) < 1:
            raise ValueError(f"word lengths must be positive, got {list(lengths)}")
        self.G, self.lengths, self.sampler = G, list(lengths), sampler
        self.latent_dim = G.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.G.sample_latent(n, generator)

    def sample_condition(self, n: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        length = self.lengths[int(torch.randint(0, len(self.lengths), (1,), generator=generator))]
        if self.sampler is not None:
            return {"text": self.sampler.sample(n, length, generator or torch.default_generator)}
        chars = self.G.alphabet.chars
        codes = torch.randint(0, len(chars), (n, length), generator=generator).tolist()
        return {"text": ["".join(chars[i] for i in row) for row in codes]}

    def __call__(self, z: torch.Tensor, text: Sequence[str]) -> torch.Tensor:
        return self.G(z, text=text)


def frozen_generator(config: ScrabbleGANConfig, device: torch.device | str, progress: bool = True) -> Generator:
    """The cached (or trained) generator of ``config``, in eval mode with gradients off."""
    from ..models import get_or_train

    G = get_or_train(config, device, progress=progress).model.G.eval()
    for p in G.parameters():
        p.requires_grad_(False)
    return G


@dataclass
class WordDirectionConfig(ModelConfig):
    """Directions (A and R) in a ScrabbleGAN generator's latent space, trained and cached."""

    family = "scrabblegan_directions"

    generator: ScrabbleGANConfig = field(default_factory=ScrabbleGANConfig)
    n_directions: int = 16  # K (R's chance accuracy 1/K)
    min_len: int = 3  # word lengths of the batches, drawn per batch
    max_len: int = 7
    shift_scale: float = 6.0  # |eps| <= shift_scale (Voynov & Babenko)
    min_shift: float = 0.5
    shift_weight: float = 0.25
    epochs: int = 4
    steps_per_epoch: int = 250
    batch_size: int = 16
    lr: float = 1e-3
    r_width: int = 32  # R's first conv width
    seed: int = 0

    def build(self) -> DirectionModel:
        return DirectionModel(
            Deformator(self.generator.z_dim, self.n_directions, "ortho"),
            Reconstructor(self.n_directions, width=self.r_width),
        )

    def latents(self, G: Generator) -> WordLatents:
        sampler = None
        if self.generator.dataset != "digit_strings":
            sampler = WordSampler(self.generator.dataset, load_text(self.generator.dataset, "train", 2000))
        return WordLatents(G, range(self.min_len, self.max_len + 1), sampler)

    def fit(self, model: DirectionModel, checkpoint: Path, device: torch.device, progress: bool = True) -> dict:
        from ..train import Trainer

        source = self.latents(frozen_generator(self.generator, device, progress))
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        trainer = Trainer.for_config(self, model, {"adam": opt}, checkpoint, "scrabblegan/directions", progress)

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen = trainer.epoch_generator(epoch)
            sums: dict[str, float] = {}
            for _ in range(self.steps_per_epoch):
                out = discovery_step(
                    source, model, opt, self.batch_size, self.shift_scale, self.min_shift, self.shift_weight, gen
                )
                for k, v in out.items():
                    sums[k] = sums.get(k, 0.0) + v
            return {k: v / self.steps_per_epoch for k, v in sums.items()}

        history = trainer.fit(epoch_fn)
        acc = direction_accuracy(
            source,
            model,
            n_batches=10,
            batch_size=32,
            shift_scale=self.shift_scale,
            min_shift=self.min_shift,
            generator=torch.Generator().manual_seed(self.seed + 1),
        )
        return {"metrics": {"r_accuracy": acc["accuracy"], "chance": acc["chance"]}, "history": history}


# ------------------------------------------------------------------------------------------------ measuring
@torch.no_grad()
def measure_images(images: torch.Tensor, texts: Sequence[str], recogniser: Recogniser, alphabet) -> dict[str, Any]:
    """Per-image ink width, slant, length (tensors) and the recogniser's CER over the batch (float)."""
    from .train import read

    preds = read(recogniser, images.to(next(recogniser.parameters()).device), alphabet)
    return {
        "width": ink_width(images),
        "slant": slant_of(images),
        "length": ink_length(images),
        "cer": error_rates(preds, list(texts))["cer"],
    }


def nanstd(x: torch.Tensor) -> float:
    x = x[~torch.isnan(x)]
    return float(x.std()) if len(x) > 1 else float("nan")


def standardise(effect: dict[str, float], spread: dict[str, float]) -> dict[str, float]:
    """Effect / spread of the measure across z: comparable across measures of different units."""
    return {m: effect[m] / spread[m] if spread[m] and np.isfinite(spread[m]) else float("nan") for m in MEASURES}


def dominant(row: dict[str, Any]) -> str:
    """The measure with the largest |standardised effect| (``z_<measure>``), signed; "none" below MIN_EFFECT."""
    scores = {m: row[f"z_{m}"] for m in MEASURES if np.isfinite(row[f"z_{m}"])}
    if not scores:
        return "none"
    m = max(scores, key=lambda k: abs(scores[k]))
    if abs(scores[m]) < MIN_EFFECT:
        return "none"
    return f"{m} {'+' if scores[m] > 0 else '-'}"


@torch.no_grad()
def word_effects(
    G: Generator,
    directions: torch.Tensor,
    recogniser: Recogniser,
    texts: Sequence[str],
    shift: float,
    generator: torch.Generator | None = None,
) -> list[dict[str, Any]]:
    """Each direction's measured effect on words ``texts`` (one length), from z - shift·d to z + shift·d.

    For every direction k: ``d_<m>`` = mean over samples of m(G(z + s d_k)) - m(G(z - s d_k)) for m in ink width
    (px), slant (px per px) and length (px); ``z_<m>`` = d_<m> over the spread of m across z (its standard
    deviation over the unshifted samples), so effects of different units compare; ``effect`` = the dominant
    measure with its sign (:func:`dominant`); ``cer_change`` = the worse shifted side's CER minus the unshifted
    CER, in percentage points, read by ``recogniser`` (keep it independent of the GAN).
    """
    texts = list(texts)
    dev = next(G.parameters()).device
    z = torch.randn(len(texts), G.latent_dim, generator=generator).to(dev)
    base = measure_images(G(z, text=texts), texts, recogniser, G.alphabet)
    spread = {m: nanstd(base[m]) for m in MEASURES}
    out = []
    for k, d in enumerate(directions.to(z)):
        lo, hi = (measure_images(G(z + s * shift * d, text=texts), texts, recogniser, G.alphabet) for s in (-1, 1))
        effect = {m: float((hi[m] - lo[m]).nanmean()) for m in MEASURES}
        row: dict[str, Any] = {
            "direction": k,
            **{f"d_{m}": effect[m] for m in MEASURES},
            **{f"z_{m}": v for m, v in standardise(effect, spread).items()},
            "cer_base": base["cer"],
            "cer_minus": lo["cer"],
            "cer_plus": hi["cer"],
            "cer_change": 100 * (max(lo["cer"], hi["cer"]) - base["cer"]),
        }
        out.append(row | {"effect": dominant(row)})
    return out


def ranked(effects: Sequence[dict[str, Any]], measure: str, max_cer_change: float | None = None) -> list[int]:
    """Directions whose dominant effect is ``measure``, strongest first (optionally only those keeping the text:
    CER change <= ``max_cer_change`` points)."""
    hits = [
        e
        for e in effects
        if e["effect"].split()[0] == measure and (max_cer_change is None or e["cer_change"] <= max_cer_change)
    ]
    return [e["direction"] for e in sorted(hits, key=lambda e: -abs(e[f"z_{measure}"]))]


def summarize(effects: Sequence[dict[str, Any]], max_cer_change: float = 5.0) -> dict[str, Any]:
    """Counts of directions by dominant effect, and of width/slant directions that keep the text."""
    kinds = [e["effect"].split()[0] for e in effects]
    keep = [e for e in effects if e["cer_change"] <= max_cer_change]
    return {
        "n_directions": len(effects),
        **{f"n_{m}": kinds.count(m) for m in (*MEASURES, "none")},
        "n_width_or_slant_text_kept": sum(e["effect"].split()[0] in ("width", "slant") for e in keep),
        "max_cer_change_allowed": max_cer_change,
        "mean_cer_change": float(np.mean([e["cer_change"] for e in effects])),
    }
