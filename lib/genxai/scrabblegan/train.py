"""Training configs: the ScrabbleGAN (G, D, R together) and the independent recogniser that judges it.

:class:`ScrabbleGANConfig` follows the official schedule (Adam 2e-4, betas (0, 0.999); D and R step every
iteration, G every ``g_every``-th; hinge loss; R trained on real words only, G on D + balanced R).  Fake words come
from the training lexicon (font words) or are random digit strings, of the same length as the real batch.

:class:`RecogniserConfig` trains a second recogniser on real training words only (another seed, never seen by
the GAN): it reads generated words for CER/WER and gives the features of Fréchet distance and style diversity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data import digit_strings, handwriting
from ..data._text import TextSet
from ..models.cache import ModelConfig
from .model import (
    Discriminator,
    Generator,
    Recogniser,
    ScrabbleGAN,
    balance_coefficient,
    ctc_loss,
    hinge_d,
)

DATASETS = ("digit_strings", "handwriting", "iam")


def load_text(dataset: str, split: str, n: int | None, seed: int = 0) -> TextSet:
    """The word images of ``dataset`` (digit_strings | handwriting | iam)."""
    if dataset == "digit_strings":
        return digit_strings.load(split, n=n, seed=seed)
    if dataset == "handwriting":
        return handwriting.load(split, n=n, seed=seed)
    if dataset == "iam":
        return handwriting.load_iam(split, n=n, seed=seed)
    raise ValueError(f"unknown text data set {dataset!r}: choose one of {DATASETS}")


def alphabet_of(dataset: str) -> str:
    if dataset == "digit_strings":
        return digit_strings.ALPHABET.chars
    if dataset == "handwriting":
        return handwriting.ALPHABET.chars
    if dataset == "iam":
        return handwriting.IAM_ALPHABET.chars
    raise ValueError(f"unknown text data set {dataset!r}: choose one of {DATASETS}")


class WordSampler:
    """Fake texts of a given length: training-lexicon words (fonts, IAM labels) or random digit strings."""

    def __init__(self, dataset: str, train: TextSet):
        self.dataset = dataset
        if dataset == "handwriting":
            words = handwriting.split_lexicon("train")
        else:
            words = sorted(set(train.texts))
        self.by_len: dict[int, list[str]] = {}
        for w in words:
            self.by_len.setdefault(len(w), []).append(w)
        self.chars = alphabet_of(dataset)

    def sample(self, n: int, length: int, generator: torch.Generator) -> list[str]:
        pool = self.by_len.get(length)
        if self.dataset == "digit_strings" or not pool:
            codes = torch.randint(0, len(self.chars), (n, length), generator=generator).tolist()
            return ["".join(self.chars[i] for i in row) for row in codes]
        return [pool[i] for i in torch.randint(0, len(pool), (n,), generator=generator).tolist()]


@dataclass
class ScrabbleGANConfig(ModelConfig):
    """ScrabbleGAN on digit strings, font-rendered words or IAM."""

    family = "scrabblegan"

    dataset: str = "digit_strings"  # digit_strings | handwriting | iam
    n_train: int | None = 20_000  # training words (None: all)
    z_dim: int = 32  # latent size: 4 chunks (filter bank + 3 blocks)
    g_ch: int = 16  # G's base width (official 64)
    d_ch: int = 16  # D's base width (official 64)
    r_width: int = 16  # R's base width (official CRNN ~64)
    attention: bool = True  # one SAGAN block in G
    attention_at: int = 1  # after G's block 1 (0: 8 x 8n grid) or block 2 (1: 16 x 16n grid, 16 times the cost)
    alpha: float = 1.0  # gradient-balancing alpha (official gb_alpha)
    g_every: int = 1  # G steps once per this many D+R steps (official num_critic_train=4)
    epochs: int = 4  # epochs of steps_per_epoch iterations (checkpointed each)
    steps_per_epoch: int = 200
    batch_size: int = 8  # official batch 8
    lr: float = 2e-4  # Adam for G, D and R (official)
    seed: int = 0

    def build(self) -> ScrabbleGAN:
        chars = alphabet_of(self.dataset)
        return ScrabbleGAN(
            Generator(chars, self.z_dim, self.g_ch, self.attention, attention_at=self.attention_at),
            Discriminator(self.d_ch),
            Recogniser(len(chars) + 1, self.r_width),
        )

    # --- hooks of the training loop (InfoGAN codes: genxai.scrabblegan.infogan.ScrabbleInfoGANConfig)
    def g_parameters(self, model: ScrabbleGAN) -> list[torch.nn.Parameter]:
        """What G's optimiser updates."""
        return list(model.G.parameters())

    def sample_z(self, model: ScrabbleGAN, n: int, generator: torch.Generator) -> tuple[torch.Tensor, Any]:
        """n latent codes and what the extra G loss needs about them (nothing here)."""
        return torch.randn(n, model.G.latent_dim, generator=generator), None

    def extra_g_loss(self, model: ScrabbleGAN, fake: torch.Tensor, aux: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """A term added to G's balanced loss (none here)."""
        return fake.new_zeros(()), {}

    def fit(self, model: ScrabbleGAN, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..train import Trainer

        train = load_text(self.dataset, "train", self.n_train, self.seed)
        words = WordSampler(self.dataset, train)
        G, D, R = model.G, model.D, model.R
        alphabet = G.alphabet
        betas = (0.0, 0.999)
        opt_g = torch.optim.Adam(self.g_parameters(model), lr=self.lr, betas=betas)
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr, betas=betas)
        opt_r = torch.optim.Adam(R.parameters(), lr=self.lr, betas=betas)
        trainer = Trainer.for_config(
            self, model, {"g": opt_g, "d": opt_d, "r": opt_r}, checkpoint, f"scrabblegan/{self.dataset}", progress
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen = trainer.epoch_generator(epoch)
            batches = train.length_batches(gen, self.batch_size)
            if not batches:
                raise ValueError(f"no full batch of {self.batch_size} equally long words in {len(train)} words")
            sums: dict[str, float] = {}
            for step in range(self.steps_per_epoch):
                # every rank draws the whole batch (real indices, fake texts, z) from the same generator and
                # keeps its share (Trainer.shard: identity in one process), as Trainer.batches does
                idx = trainer.shard(batches[step % len(batches)])
                real, texts = train.batch(idx)
                real = real.to(device)
                n = len(texts[0])
                fake_texts = words.sample(self.batch_size, n, gen)
                z, aux = self.sample_z(model, self.batch_size, gen)
                keep = trainer.shard(torch.arange(self.batch_size)).tolist()
                fake_texts = [fake_texts[i] for i in keep]
                z = z[keep].to(device)
                aux = None if aux is None else tuple(a[keep].to(device) for a in aux)
                fake = G(z, text=fake_texts)
                # D (hinge) and R (CTC on real words only) every iteration
                loss_d = hinge_d(D(real), D(fake.detach()))
                loss_r_real = ctc_loss(R(real), alphabet.encode_batch(texts))
                opt_d.zero_grad(set_to_none=True)
                opt_r.zero_grad(set_to_none=True)
                (loss_d + loss_r_real).backward()
                opt_d.step()
                opt_r.step()
                logs = {"loss_d": loss_d.item(), "ctc_real": loss_r_real.item()}
                if step % self.g_every == 0:
                    loss_adv = -D(fake).mean()
                    loss_r_fake = ctc_loss(R(fake), alphabet.encode_batch(fake_texts))
                    a = balance_coefficient(loss_adv, loss_r_fake, fake, self.alpha)
                    extra, extra_logs = self.extra_g_loss(model, fake, aux)
                    opt_g.zero_grad(set_to_none=True)
                    (loss_adv + a * loss_r_fake + extra).backward()  # ONE backward of the balanced loss
                    opt_g.step()
                    logs |= {"loss_g_adv": loss_adv.item(), "ctc_fake": loss_r_fake.item(), "balance_a": a.item()}
                    logs |= extra_logs
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
            counts = {
                k: self.steps_per_epoch if k in ("loss_d", "ctc_real") else -(-self.steps_per_epoch // self.g_every)
                for k in sums
            }
            return {k: v / counts[k] for k, v in sums.items()}

        history = trainer.fit(epoch_fn)
        return {"metrics": {"n_train": len(train), "data_source": train.source}, "history": history}


@dataclass
class RecogniserConfig(ModelConfig):
    """An independent recogniser: real training words only, its own seed; judges generated words."""

    family = "scrabblegan_recogniser"

    dataset: str = "digit_strings"
    n_train: int | None = 20_000
    width: int = 16
    epochs: int = 4
    steps_per_epoch: int = 200
    batch_size: int = 16
    lr: float = 1e-3
    n_test: int = 1000  # held-out real words for its own CER
    seed: int = 1  # not the GAN's seed

    def build(self) -> Recogniser:
        return Recogniser(len(alphabet_of(self.dataset)) + 1, self.width)

    def fit(self, model: Recogniser, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from ..train import Trainer

        train = load_text(self.dataset, "train", self.n_train, self.seed)
        from ..data._text import Alphabet

        alphabet = Alphabet(alphabet_of(self.dataset))
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        trainer = Trainer.for_config(self, model, {"adam": opt}, checkpoint, f"recogniser/{self.dataset}", progress)

        def epoch_fn(epoch: int) -> dict[str, float]:
            gen = trainer.epoch_generator(epoch)
            batches = train.length_batches(gen, self.batch_size)
            total = 0.0
            for step in range(self.steps_per_epoch):
                x, texts = train.batch(trainer.shard(batches[step % len(batches)]))
                loss = ctc_loss(model(x.to(device)), alphabet.encode_batch(texts))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item()
            return {"ctc": total / self.steps_per_epoch}

        history = trainer.fit(epoch_fn)
        test = load_text(self.dataset, "test", self.n_test, self.seed)
        rates = read_rates(model, test, device)
        return {
            "metrics": {"test_cer": rates["cer"], "test_wer": rates["wer"], "n_test": len(test)},
            "history": history,
        }


@torch.no_grad()
def read(recogniser: Recogniser, images: torch.Tensor, alphabet) -> list[str]:
    was = recogniser.training
    recogniser.eval()
    out = alphabet.decode_greedy(recogniser(images))
    recogniser.train(was)
    return out


def read_rates(recogniser: Recogniser, data: TextSet, device: torch.device | str = "cpu", batch: int = 64) -> dict:
    """CER/WER of ``recogniser`` on the word images of ``data``."""
    from .measures import error_rates

    preds, refs = [], []
    for n in sorted(set(data.lengths().tolist())):
        idx = list(data.of_length(n))
        for i in range(0, len(idx), batch):
            x, texts = data.batch(idx[i : i + batch])
            preds += read(recogniser, x.to(device), data.alphabet)
            refs += texts
    return error_rates(preds, refs)
