"""ScrabbleGAN (Fogel et al., CVPR 2020; the work's Sec. 5.1.1 and Fig. 5.1): G, D, R and their losses.

* **Generator** (Fogel et al. Sec. 3.1): z is cut into ``n_blocks + 1`` chunks.  The first chunk goes through a
  *filter bank*, one filter per character: character c of the text gives the patch ``F_c z_0`` of shape
  (C0, 4, 4); the patches are concatenated along the width, so an n-character text starts as (C0, 4, 4n).
  Residual up-sampling blocks (BigGAN's GBlock: BN-ReLU-up-conv3x3-BN-ReLU-conv + 1x1 shortcut) grow it to
  (32, 16n); their 3x3 convolutions overlap neighbouring characters, which is how transitions are learnt.  Every
  BN is *conditional* on the block's own chunk of z (style): gain = 1 + W_g z_k, bias = W_b z_k.  Spectral norm
  on every weight; one SAGAN self-attention block (the work adds it to show attention maps, Fig. 6.11), after the
  second block (16 x 16n) or, cheaper, after the first (8 x 8n: ``attention_at=0``).
* **Discriminator**: residual down-sampling blocks with spectral norm, ReLU, *global sum pooling* and a linear
  layer: one score for an image of any width; hinge loss.
* **Recogniser R** (Sec. 3.2): convolutional only (the paper's supplementary Table 1 finds it best), height
  pooled to 1, 4 frames per character, CTC over ``log_softmax`` with blank 0.  The official code feeds the raw
  outputs to CTC without the log-softmax; we normalise, as CTC's definition requires.
* **Gradient balancing** (Sec. 3.3): ∇ = ∇l_D + α·σ(∇l_D)/σ(∇l_R)·∇l_R, σ over the gradient w.r.t. the fake
  image.  :func:`balance_coefficient` computes the coefficient; the balanced loss is back-propagated *once*
  (the official ``backward_G`` calls backward three times, which gives 3·∇l_D + (α + 2a)·∇l_R).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..data._text import CHAR_WIDTH, HEIGHT, Alphabet
from ..gan_xai.attention import SelfAttention

PATCH = 4  # side of a character's first patch (4x4): 3 upsamplings in height, 2 in width give 32 x 16


def sn(module: nn.Module, on: bool = True) -> nn.Module:
    """N(0, 0.02) initialisation (BigGAN's N02, the official ``G_init``), then spectral norm (Miyato et al. 2018).

    The weight is initialised *before* the parametrisation is attached, so the power iteration's singular
    vectors belong to the weight actually used (an eval-mode module runs no further iterations).
    """
    nn.init.normal_(module.weight, 0.0, 0.02)
    return spectral_norm(module) if on else module


class GridAttention(SelfAttention):
    """SAGAN block that remembers its grid (h, w), so maps can be drawn for any word width."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.grid = tuple(x.shape[-2:])
        return super().forward(x)


class ConditionalBN(nn.Module):
    """BatchNorm without affine weights, with gain 1 + W_g z and bias W_b z from a chunk of z (BigGAN's ccbn)."""

    def __init__(self, channels: int, z_chunk: int, use_sn: bool = True):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = sn(nn.Linear(z_chunk, channels, bias=False), use_sn)
        self.bias = sn(nn.Linear(z_chunk, channels, bias=False), use_sn)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1 + self.gain(z))[:, :, None, None] + self.bias(z)[:, :, None, None]


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, z_chunk: int, up: tuple[int, int], k2: int = 3, use_sn: bool = True):
        super().__init__()
        self.up = up
        self.bn1 = ConditionalBN(c_in, z_chunk, use_sn)
        self.conv1 = sn(nn.Conv2d(c_in, c_out, 3, padding=1), use_sn)
        self.bn2 = ConditionalBN(c_out, z_chunk, use_sn)
        self.conv2 = sn(nn.Conv2d(c_out, c_out, k2, padding=k2 // 2), use_sn)
        self.shortcut = sn(nn.Conv2d(c_in, c_out, 1), use_sn)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, z)), scale_factor=self.up, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), z)))
        return h + self.shortcut(F.interpolate(x, scale_factor=self.up, mode="nearest"))


class Generator(nn.Module):
    """Text + z -> (B, 1, 32, 16n) handwriting in [-1, 1]; a :class:`~genxai.gan_xai.protocol.LatentGenerator`.

    Call as ``G(z, text=["hello", "world"])`` (equally long texts) or with ``codes=`` (B, n) class indices.
    """

    UPS = ((2, 2), (2, 2), (2, 1))  # 4x4n -> 8x8n -> 16x16n -> 32x16n
    K2 = (3, 3, 1)

    def __init__(
        self,
        alphabet: str,
        z_dim: int = 128,
        ch: int = 64,
        attention: bool = True,
        use_sn: bool = True,
        condition_length: int = 5,
        attention_at: int = 1,
    ):
        super().__init__()
        self.alphabet = Alphabet(alphabet)
        n_chunks = len(self.UPS) + 1
        if z_dim % n_chunks:
            raise ValueError(f"z_dim={z_dim} must be divisible by {n_chunks} (one chunk per block plus the filters)")
        self.latent_dim, self.z_chunk, self.condition_length = z_dim, z_dim // n_chunks, condition_length
        widths = (8 * ch, 4 * ch, 2 * ch, ch)
        self.c0 = widths[0]
        # the filter bank: one (z_chunk -> c0*4*4) filter per character, stored as one linear map on
        # one-hot(c) (x) z_0 (the official first layer), so spectral norm sees the whole bank
        self.filters = sn(nn.Linear(len(self.alphabet) * self.z_chunk, self.c0 * PATCH * PATCH), use_sn)
        self.blocks = nn.ModuleList(
            GBlock(widths[i], widths[i + 1], self.z_chunk, self.UPS[i], self.K2[i], use_sn) for i in range(3)
        )
        if attention_at not in (0, 1):
            raise ValueError(
                f"attention_at must be 0 (after block 1, 8 x 8n) or 1 (after block 2, 16 x 16n), got {attention_at}"
            )
        # the attention matrix has (h·w)^2 entries: 8 x 8n costs 1/16 of 16 x 16n
        self.attention_at = attention_at
        self.attention = GridAttention(widths[attention_at + 1]) if attention else None
        self.out_bn = nn.BatchNorm2d(ch)
        self.out_conv = sn(nn.Conv2d(ch, 1, 3, padding=1), use_sn)
        self.words: Sequence[str] | None = None  # texts sample_condition draws from (None: random strings)

    def encode(self, text: Sequence[str]) -> torch.Tensor:
        return self.alphabet.encode_batch(list(text)) - 1  # filter indices 0..A-1

    def forward(
        self, z: torch.Tensor, text: Sequence[str] | None = None, codes: torch.Tensor | None = None
    ) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        if codes is None:
            if text is None:
                raise ValueError("pass the words to write: G(z, text=['word', ...]) (one length per batch)")
            if isinstance(text, str):
                text = [text] * len(z)
            codes = self.encode(text)
        codes = codes.to(z.device)
        if codes.shape[0] != z.shape[0]:
            raise ValueError(f"{codes.shape[0]} texts for {z.shape[0]} latent codes")
        chunks = z.split(self.z_chunk, dim=1)
        bank = self.filters.weight.view(-1, len(self.alphabet), self.z_chunk)  # (c0*16, A, zc)
        every = torch.einsum("bz,oaz->boa", chunks[0], bank)  # every character's patch (B, c0*16, A)
        b, n = codes.shape
        patches = every.gather(2, codes[:, None, :].expand(-1, every.shape[1], -1)).transpose(1, 2)  # (B, n, O)
        patches = patches + self.filters.bias
        h = patches.view(b, n, self.c0, PATCH, PATCH).permute(0, 2, 3, 1, 4).reshape(b, self.c0, PATCH, n * PATCH)
        for i, block in enumerate(self.blocks):
            h = block(h, chunks[i + 1])
            if i == self.attention_at and self.attention is not None:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))

    # --- LatentGenerator protocol
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator).to(next(self.parameters()).device)

    def sample_condition(self, n: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        """``{"text": n texts}`` of one length: from ``self.words`` when set, else random strings."""
        if self.words:
            idx = torch.randint(0, len(self.words), (n,), generator=generator).tolist()
            words = [self.words[i] for i in idx]
            if len({len(w) for w in words}) > 1:
                raise ValueError("G.words must all have one length (a batch has one width)")
            return {"text": words}
        codes = torch.randint(0, len(self.alphabet), (n, self.condition_length), generator=generator)
        return {"text": ["".join(self.alphabet.chars[i] for i in row) for row in codes.tolist()]}


class DBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, down: bool = True, preactivation: bool = True, use_sn: bool = True):
        super().__init__()
        self.down, self.pre = down, preactivation
        self.conv1 = sn(nn.Conv2d(c_in, c_out, 3, padding=1), use_sn)
        self.conv2 = sn(nn.Conv2d(c_out, c_out, 3, padding=1), use_sn)
        self.shortcut = sn(nn.Conv2d(c_in, c_out, 1), use_sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.pre else x
        h = self.conv2(F.relu(self.conv1(h)))
        s = self.shortcut(x)
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


class Discriminator(nn.Module):
    """Image of any width -> one realness score (global sum pooling, Fogel et al. Sec. 3.1)."""

    def __init__(self, ch: int = 64, use_sn: bool = True):
        super().__init__()
        self.blocks = nn.Sequential(
            DBlock(1, ch, preactivation=False, use_sn=use_sn),  # 16 x 8n
            DBlock(ch, 2 * ch, use_sn=use_sn),  # 8 x 4n
            DBlock(2 * ch, 4 * ch, use_sn=use_sn),  # 4 x 2n
            DBlock(4 * ch, 4 * ch, down=False, use_sn=use_sn),
        )
        self.linear = sn(nn.Linear(4 * ch, 1), use_sn)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map, (B, 4ch, 4, 2n) after ReLU (the InfoGAN Q head reads its mean)."""
        return F.relu(self.blocks(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x).sum((2, 3))  # global sum pooling: any width
        return self.linear(h).squeeze(1)


class Recogniser(nn.Module):
    """Convolutional recogniser: (B, 1, 32, 16n) -> CTC log-probabilities (T=4n, B, A+1) and features."""

    def __init__(self, n_classes: int, width: int = 64):
        super().__init__()
        w = width

        def conv(c_in, c_out, bn=True):
            return [nn.Conv2d(c_in, c_out, 3, padding=1), *([nn.BatchNorm2d(c_out)] if bn else []), nn.ReLU()]

        self.body = nn.Sequential(
            *conv(1, w, bn=False),
            nn.MaxPool2d(2),  # 16 x 8n
            *conv(w, 2 * w),
            nn.MaxPool2d(2),  # 8 x 4n
            *conv(2 * w, 4 * w),
            *conv(4 * w, 4 * w),
            nn.MaxPool2d((2, 1)),  # 4 x 4n
            *conv(4 * w, 8 * w),
            nn.MaxPool2d((2, 1)),  # 2 x 4n
            nn.Conv2d(8 * w, 8 * w, (2, 1)),  # 1 x 4n
            nn.BatchNorm2d(8 * w),
            nn.ReLU(),
        )
        self.head = nn.Linear(8 * w, n_classes)
        self.feature_dim = 8 * w

    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame features (T, B, F)."""
        if x.shape[-2] != HEIGHT:
            raise ValueError(f"the recogniser reads images of height {HEIGHT}, got shape {tuple(x.shape)}")
        return self.body(x).squeeze(2).permute(2, 0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.head(self.frames(x)), dim=-1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """One vector per image (mean over frames): the space of Fréchet distance and style diversity."""
        return self.frames(x).mean(0)


def ctc_loss(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CTC (Graves et al. 2006) of (T, B, C) log-probabilities against (B, L) targets in 1..C-1; blank 0."""
    T, B, _ = log_probs.shape
    input_lengths = torch.full((B,), T, dtype=torch.long)
    target_lengths = torch.full((B,), targets.shape[1], dtype=torch.long)
    return F.ctc_loss(
        log_probs, targets.to(log_probs.device), input_lengths, target_lengths, blank=0, zero_infinity=True
    )


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def balance_coefficient(
    loss_adv: torch.Tensor, loss_r: torch.Tensor, image: torch.Tensor, alpha: float = 1.0, eps: float = 1e-8
) -> torch.Tensor:
    """a = α·σ(∇_I l_adv) / σ(∇_I l_R) (Fogel et al. Eq. 3), gradients w.r.t. the generated image I, detached.

    Only the discriminator's and the recogniser's graphs are traversed (the gradient is taken at the image).
    """
    (g_adv,) = torch.autograd.grad(loss_adv, image, retain_graph=True)
    (g_r,) = torch.autograd.grad(loss_r, image, retain_graph=True)
    return (alpha * g_adv.std() / (eps + g_r.std())).detach()


class ScrabbleGAN(nn.Module):
    """G, D and R in one module (one state_dict, one training checkpoint)."""

    def __init__(self, G: Generator, D: Discriminator, R: Recogniser):
        super().__init__()
        self.G, self.D, self.R = G, D, R


def output_width(n_chars: int) -> int:
    return CHAR_WIDTH * n_chars
