"""Notebook helpers of the ScrabbleGAN notebooks: configs from a profile, the architecture trace (Fig. 5.1),
readability/realism of generated words, handwriting of any text, and the word explorer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..data._text import TextSet
from .directions import WordDirectionConfig
from .infogan import ScrabbleInfoGANConfig
from .measures import error_rates, frechet_distance, style_diversity
from .model import Generator, Recogniser, ScrabbleGAN
from .train import RecogniserConfig, ScrabbleGANConfig, load_text, read  # noqa: F401 (load_text: for the notebooks)

WORD_GAP = 8  # blank columns between the words of a text (one word = one generator call)


def configs(P: Any, seed: int = 0) -> dict[str, Any]:
    """Every model of the notebooks for profile ``P``: the GAN, the independent recognisers (their own seed,
    ``seed + 1``: never the GAN's), the directions and the InfoGAN variant."""
    gan = ScrabbleGANConfig(**P.gan, seed=seed)
    return {
        "gan": gan,
        "judge": RecogniserConfig(**{**P.recogniser, "seed": seed + 1}),
        "hand_judge": RecogniserConfig(**{**P.hand_recogniser, "seed": seed + 1}),
        "directions": WordDirectionConfig(generator=gan, seed=seed, **P.directions),
        "infogan": ScrabbleInfoGANConfig(**{**P.gan, **P.infogan}, seed=seed),
    }


# ------------------------------------------------------------------------------------------- Fig. 5.1
@torch.no_grad()
def trace_architecture(model: ScrabbleGAN, text: str) -> list[dict[str, Any]]:
    """Every stage of G, D and R with its output shape for one word, recorded by forward hooks on the modules
    actually run (so the figure cannot drift from the code)."""
    G, D, R = model.G, model.D, model.R
    stages: list[dict[str, Any]] = []

    def params(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    def hook(net: str, name: str, module: nn.Module, pre: bool = False):
        def record(_m, inputs, output=None):
            x = inputs[0] if pre else output
            stages.append({"net": net, "stage": name, "shape": tuple(x.shape[1:]), "params": params(module)})

        return module.register_forward_pre_hook(record) if pre else module.register_forward_hook(record)

    # the filter bank is applied by einsum (never called as a module): its output is block 1's input
    handles = [hook("G", "filter bank: 4x4 patch per char", G.blocks[0], pre=True)]
    for i, block in enumerate(G.blocks):
        handles.append(hook("G", f"ResBlock {i + 1}: cBN(z{i + 1}), up {block.up[0]}x{block.up[1]}", block))
    if G.attention is not None:
        handles.append(hook("G", "self-attention (SAGAN)", G.attention))
    handles.append(hook("G", "BN-ReLU-conv-tanh: image", G.out_conv))
    for i, block in enumerate(D.blocks):
        handles.append(hook("D", f"DBlock {i + 1}" + (" (down)" if block.down else ""), block))
    handles.append(hook("D", "sum pool + linear: score", D.linear))
    handles.append(hook("R", "conv body (height -> 1)", R.body))
    handles.append(hook("R", "per frame: CTC log-probs", R.head))
    was = model.training
    model.eval()
    try:
        x = G(G.sample_latent(1), text=[text])
        D(x)
        R(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    stages[0]["params"] = sum(p.numel() for p in G.filters.parameters())
    for s in stages:
        if s["stage"].startswith("per frame"):
            s["shape"] = (s["shape"][-1], f"T={4 * len(text)}")
    return stages


def parameter_counts(model: ScrabbleGAN) -> dict[str, int]:
    return {k: sum(p.numel() for p in getattr(model, k).parameters()) for k in ("G", "D", "R")}


# ----------------------------------------------------------------------------------- generating words
@torch.no_grad()
def generate(
    G: Generator,
    texts: Sequence[str],
    z: torch.Tensor | None = None,
    batch: int = 64,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """One image (1, 32, 16n) per text, any lengths (batched per length); z (len(texts), d) or seeded draws."""
    texts = list(texts)
    if z is None:
        z = torch.randn(len(texts), G.latent_dim, generator=generator)
    dev = next(G.parameters()).device
    was = G.training
    G.eval()
    out: list[torch.Tensor | None] = [None] * len(texts)
    for n in sorted({len(t) for t in texts}):
        idx = [i for i, t in enumerate(texts) if len(t) == n]
        for s in range(0, len(idx), batch):
            part = idx[s : s + batch]
            imgs = G(z[part].to(dev), text=[texts[i] for i in part]).cpu()
            for i, img in zip(part, imgs):
                out[i] = img
    G.train(was)
    return out  # type: ignore[return-value]


def handwrite(G: Generator, text: str, style: int = 0) -> torch.Tensor:
    """``text`` written in one style (seed ``style``): (1, 32, W) in [-1, 1]; words (split on spaces) are written
    one by one with the same z and joined with :data:`WORD_GAP` blank columns."""
    words = text.split()
    if not words:
        raise ValueError('nothing to write: give some text, e.g. genxai handwrite "2026 12 07"')
    for w in words:
        G.alphabet.check(w)
    z = torch.randn(1, G.latent_dim, generator=torch.Generator().manual_seed(style)).repeat(len(words), 1)
    images = generate(G, words, z)
    gap = torch.ones(1, images[0].shape[1], WORD_GAP)
    parts = []
    for i, img in enumerate(images):
        parts += [img] + ([gap] if i < len(images) - 1 else [])
    return torch.cat(parts, -1)


# ---------------------------------------------------------------------------- readability and realism
@torch.no_grad()
def features(recogniser: Recogniser, images: Sequence[torch.Tensor], batch: int = 64) -> torch.Tensor:
    """The recogniser's per-word feature vectors (mean over frames), batched per width."""
    dev = next(recogniser.parameters()).device
    was = recogniser.training
    recogniser.eval()
    out = torch.zeros(len(images), recogniser.feature_dim)
    for width in sorted({im.shape[-1] for im in images}):
        idx = [i for i, im in enumerate(images) if im.shape[-1] == width]
        for s in range(0, len(idx), batch):
            part = idx[s : s + batch]
            out[part] = recogniser.features(torch.stack([images[i] for i in part]).to(dev)).cpu()
    recogniser.train(was)
    return out


def read_all(recogniser: Recogniser, images: Sequence[torch.Tensor], alphabet, batch: int = 64) -> list[str]:
    preds: list[str | None] = [None] * len(images)
    for width in sorted({im.shape[-1] for im in images}):
        idx = [i for i, im in enumerate(images) if im.shape[-1] == width]
        for s in range(0, len(idx), batch):
            part = idx[s : s + batch]
            for i, p in zip(part, read(recogniser, torch.stack([images[i] for i in part]), alphabet)):
                preds[i] = p
    return preds  # type: ignore[return-value]


def readability_and_realism(
    G: Generator, judge: Recogniser, gan_r: Recogniser, test: TextSet, n: int, seed: int = 0
) -> dict[str, Any]:
    """The readability/realism table's numbers on ``n`` held-out real words (split into halves A and B).

    * CER/WER of generated words of half A's texts read by the independent ``judge``, beside the judge's own
      CER/WER on the real words of half A, and beside the GAN's own recogniser (trained with G: not evidence);
    * Fréchet distance in the judge's features: generated (A's texts) vs real B, and the floor real A vs real B.
    """
    test = test.subset(n, seed)
    half = len(test) // 2
    real_a = test.take(range(half))
    real_b = test.take(range(half, 2 * half))
    imgs_a = [real_a.images([i])[0] for i in range(len(real_a))]
    imgs_b = [real_b.images([i])[0] for i in range(len(real_b))]
    fake = generate(G, real_a.texts, generator=torch.Generator().manual_seed(seed))
    alphabet = G.alphabet
    rates = {
        "generated_judge": error_rates(read_all(judge, fake, alphabet), real_a.texts),
        "real_judge": error_rates(read_all(judge, imgs_a, alphabet), real_a.texts),
        "generated_gan_r": error_rates(read_all(gan_r, fake, alphabet), real_a.texts),
    }
    fa, fb, ff = features(judge, imgs_a), features(judge, imgs_b), features(judge, fake)
    return {
        **{k: {"cer": v["cer"], "wer": v["wer"]} for k, v in rates.items()},
        "fd": {"generated_vs_real": frechet_distance(ff, fb), "real_vs_real_floor": frechet_distance(fa, fb)},
        "n_words": len(real_a),
    }


def rates_by_writer(recogniser: Recogniser, data: TextSet, device: torch.device | str = "cpu") -> pd.DataFrame:
    """CER/WER of ``recogniser`` per writer of ``data`` (font file), worst first: where a writer-independent
    test fails, it usually fails on one hand."""
    from ..data.handwriting import WRITERS
    from .train import read_rates

    rows = []
    for w in sorted(set(data.writers.tolist())):
        part = data.take([i for i in range(len(data)) if data.writers[i] == w])
        r = read_rates(recogniser, part, device)
        rows.append(
            {
                "writer": WRITERS[w] if data.name == "handwriting" else str(w),
                "words": len(part),
                "CER": r["cer"],
                "WER": r["wer"],
            }
        )
    return pd.DataFrame(rows).sort_values("CER", ascending=False, ignore_index=True)


def diversity(G: Generator, judge: Recogniser, words: Sequence[str], n_styles: int, seed: int = 0) -> dict:
    """Style diversity: mean pairwise judge-feature distance across ``n_styles`` z for a fixed word, per word
    and its mean."""
    gen = torch.Generator().manual_seed(seed)
    per_word = {}
    for w in words:
        imgs = generate(G, [w] * n_styles, generator=gen)
        per_word[w] = style_diversity(features(judge, imgs))
    return {"per_word": per_word, "mean": float(np.mean(list(per_word.values())))}


# ------------------------------------------------------------------------------------------ explorer
class ReadsWord(nn.Module):
    """A two-class 'classifier' for :class:`genxai.explorer.LatentExplorer`: logits [misread, reads word] from
    the recogniser's CTC probability p(word | image)."""

    def __init__(self, recogniser: Recogniser, alphabet, word: str):
        super().__init__()
        self.recogniser, self.alphabet = recogniser, alphabet
        self.word = alphabet.check(word)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        log_probs = self.recogniser(images)
        target = self.alphabet.encode_batch([self.word] * len(images)).to(images.device)
        T = log_probs.shape[0]
        nll = F.ctc_loss(
            log_probs,
            target,
            torch.full((len(images),), T, dtype=torch.long),
            torch.full((len(images),), len(self.word), dtype=torch.long),
            blank=0,
            reduction="none",
            zero_infinity=True,
        )
        log_p = (-nll).clamp(max=-1e-6)
        return torch.stack([torch.log1p(-log_p.exp()), log_p], 1)


class WordExplorer:
    """Type a word, slide the discovered directions: a :class:`genxai.explorer.LatentExplorer` whose decoder
    writes the typed word and whose 'classifier' says whether the independent recogniser still reads it.

    Headless use (tests): ``set_word("1234")``, ``explorer.set_shift(k, value)``; in Jupyter ``show()``."""

    def __init__(
        self,
        G: Generator,
        recogniser: Recogniser,
        directions: torch.Tensor,
        names: Sequence[str],
        word: str,
        z: torch.Tensor,
        span: float = 6.0,
        size: int = 320,
    ):
        import ipywidgets as W

        from ..explorer import LatentExplorer

        self.G = G
        self.reader = ReadsWord(recogniser, G.alphabet, word)
        self.word = word
        self.explorer = LatentExplorer(
            self._decoder(word),
            self.reader,
            z,
            directions,
            class_names=["misread", f"reads {word!r}"],
            span=span,
            names=list(names),
            size=size,
        )
        self.text = W.Text(value=word, description="word", continuous_update=False)
        self.text.observe(lambda change: self.set_word(change["new"]), names="value")
        self.widget = W.VBox([self.text, self.explorer.widget])

    def _decoder(self, word: str):
        return lambda z: self.G(z.to(next(self.G.parameters()).device), text=[word] * len(z))

    def set_word(self, word: str) -> None:
        """The text box's callback: write ``word`` (a word outside the alphabet is refused in the status line)."""
        try:
            self.G.alphabet.check(word)
        except ValueError as err:
            self.explorer.status.value = str(err)
            return
        self.word = self.reader.word = word
        self.explorer.decode = self._decoder(word)
        self.explorer.class_names[1] = f"reads {word!r}"
        self.explorer.bars[1].description = f"reads {word!r}"[:12]
        self.explorer.status.value = ""
        self.explorer.refresh()

    def read(self) -> str:
        """What the recogniser reads in the current image."""
        return read(self.reader.recogniser, self.explorer.image, self.G.alphabet)[0]

    def show(self) -> None:
        from ..recorder import show
        from ..repro import show_progress

        if show_progress():
            show(self.widget)
        else:
            self.explorer.show()
