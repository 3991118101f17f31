"""Word images of variable width and their transcriptions (ScrabbleGAN's data, Fogel et al. 2020, Sec. 3).

ScrabbleGAN's geometry: height 32, width 16 px per character, so an image of an n-character word is (1, 32, 16n).
A :class:`TextSet` keeps each image as uint8 (32, 16n) (ink dark on white, as IAM) to stay small, and returns
batches in the library's convention, float32 NCHW in [-1, 1].  Batches hold words of one length: every image in
a batch then has the same width, so neither the generator, the discriminator nor CTC sees padding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

HEIGHT = 32
CHAR_WIDTH = 16


class Alphabet:
    """Characters <-> CTC class indices; index 0 is the CTC blank, character i is index i + 1."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise ValueError(f"alphabet {chars!r} repeats characters")
        self.chars = chars
        self._index = {c: i + 1 for i, c in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def n_classes(self) -> int:
        """Output classes of a recogniser: the characters plus the blank."""
        return len(self.chars) + 1

    def check(self, text: str) -> str:
        bad = sorted({c for c in text if c not in self._index})
        if not text or bad:
            raise ValueError(
                f"cannot write {text!r}: "
                + (f"characters {bad} are not in the alphabet {self.chars!r}" if bad else "")
                + ("it is empty" if not text else "")
            )
        return text

    def encode(self, text: str) -> list[int]:
        return [self._index[c] for c in self.check(text)]

    def encode_batch(self, texts: Sequence[str]) -> torch.Tensor:
        """(B, L) class indices of equally long texts."""
        if len({len(t) for t in texts}) > 1:
            raise ValueError(f"texts of one batch must have one length, got lengths {sorted({len(t) for t in texts})}")
        return torch.tensor([self.encode(t) for t in texts], dtype=torch.long)

    def decode_greedy(self, log_probs: torch.Tensor) -> list[str]:
        """Best-path CTC decoding of (T, B, C) scores: argmax per frame, merge repeats, drop blanks."""
        best = log_probs.argmax(-1).T.tolist()  # (B, T)
        out = []
        for seq in best:
            chars, prev = [], 0
            for k in seq:
                if k != prev and k != 0:
                    chars.append(self.chars[k - 1])
                prev = k
            out.append("".join(chars))
        return out


@dataclass
class TextSet:
    """Word images with texts.  ``pixels[i]``: uint8 (32, 16·len(texts[i])), 255 = white paper."""

    pixels: list[np.ndarray]
    texts: list[str]
    alphabet: Alphabet
    name: str
    split: str
    source: str
    writers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if len(self.pixels) != len(self.texts):
            raise ValueError(f"{len(self.pixels)} images but {len(self.texts)} texts")
        if len(self.writers) == 0:
            self.writers = np.zeros(len(self.texts), dtype=np.int64)
        for p, t in zip(self.pixels[:50], self.texts[:50]):
            if p.shape != (HEIGHT, CHAR_WIDTH * len(t)) or p.dtype != np.uint8:
                raise ValueError(
                    f"image of {t!r} is {p.dtype} {p.shape}, expected uint8 {(HEIGHT, CHAR_WIDTH * len(t))}"
                )

    def __len__(self) -> int:
        return len(self.texts)

    def lengths(self) -> np.ndarray:
        return np.array([len(t) for t in self.texts])

    def images(self, index: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Images of equally long words as float32 (B, 1, 32, 16n) in [-1, 1]."""
        idx = [int(i) for i in index]
        widths = {self.pixels[i].shape[1] for i in idx}
        if len(widths) != 1:
            raise ValueError(f"a batch must hold words of one length, got widths {sorted(widths)}")
        arr = np.stack([self.pixels[i] for i in idx])[:, None]
        return torch.from_numpy(arr).float().div(127.5).sub(1.0)

    def batch(self, index: Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, list[str]]:
        return self.images(index), [self.texts[int(i)] for i in index]

    def length_batches(self, generator: torch.Generator, batch_size: int) -> list[torch.Tensor]:
        """A seeded epoch of index batches, each of one word length (full batches only, in a shuffled order)."""
        lengths = torch.as_tensor(self.lengths())
        batches = []
        for n in torch.unique(lengths).tolist():
            members = torch.nonzero(lengths == n).flatten()
            members = members[torch.randperm(len(members), generator=generator)]
            batches += [members[i : i + batch_size] for i in range(0, len(members) - batch_size + 1, batch_size)]
        order = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in order]

    def take(self, index: Sequence[int]) -> TextSet:
        idx = [int(i) for i in index]
        return TextSet(
            [self.pixels[i] for i in idx],
            [self.texts[i] for i in idx],
            self.alphabet,
            self.name,
            self.split,
            self.source,
            self.writers[idx],
        )

    def subset(self, n: int | None, seed: int = 0) -> TextSet:
        if n is None or n >= len(self):
            return self
        g = torch.Generator().manual_seed(seed)
        return self.take(torch.randperm(len(self), generator=g)[:n].sort().values.tolist())

    def of_length(self, n: int) -> Iterator[int]:
        return (i for i, t in enumerate(self.texts) if len(t) == n)


def fit_to_geometry(ink: np.ndarray, n_chars: int) -> np.ndarray:
    """Resize a uint8 word image (white paper) to ScrabbleGAN's (32, 16n): the official ``charResize``."""
    from PIL import Image

    img = Image.fromarray(ink).resize((CHAR_WIDTH * n_chars, HEIGHT), Image.Resampling.BILINEAR)
    return np.array(img, dtype=np.uint8)
