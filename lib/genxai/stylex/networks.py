"""A StyleGAN2-style generator with an explicit StyleSpace, a residual discriminator with R1, and an encoder.

Written here rather than taken from a package: the PyPI StyleGAN2 ports assert CUDA or compile CUDA ops at import
(see the stylex notes, section 11), and StylEx needs every layer's style vector as a tensor it can read and shift,
which none of them exposes (the reproduction shifted styles by editing the bias of each ``to_style`` layer).

Generator (Karras et al. 2020, "Analyzing and improving the image quality of StyleGAN", Sec. 2.2, Eq. 1-3):
mapping MLP z -> w; per layer an affine map A(w) gives the style s; the convolution weight is modulated
w'_ijk = s_i w_ijk (Eq. 1) and demodulated w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + eps) (Eq. 3); per-pixel noise
with a learned per-channel scale; toRGB outputs summed over resolutions (skip architecture).

StyleSpace (Wu et al. 2021): the concatenation of the style vectors of the 3x3 convolutions (toRGB excluded, as
in the StylEx reproduction).  :meth:`StyleGenerator.styles` returns them, :meth:`StyleGenerator.synthesize` takes
them back, and :meth:`StyleGenerator.flatten` / :meth:`StyleGenerator.unflatten` map them to one flat coordinate
index ``0 .. n_coords - 1``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate (weights scaled at run time by 1/sqrt(fan_in) * lr_mul)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)) / lr_mul)
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then ``depth`` equalised linear layers with leaky ReLU (lr_mul 0.1 as the repro)."""

    def __init__(self, z_dim: int, w_dim: int, depth: int = 4, lr_mul: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [EqualLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8))


class ModulatedConv2d(nn.Module):
    """A k x k convolution whose weight is scaled per sample by the style and (optionally) demodulated."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, demodulate: bool = True):
        super().__init__()
        self.in_ch, self.out_ch, self.kernel, self.demodulate = in_ch, out_ch, kernel, demodulate
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.scale = 1 / math.sqrt(in_ch * kernel * kernel)

    def modulated_weight(self, style: torch.Tensor) -> torch.Tensor:
        """(N, out, in, k, k): Eq. 1 (modulation) and Eq. 3 (demodulation) of Karras et al. 2020."""
        w = self.scale * self.weight[None] * style[:, None, :, None, None]
        if self.demodulate:
            w = w * torch.rsqrt(w.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
        return w

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        # Equal to convolving each sample with its own modulated_weight(style), computed as in StyleGAN2's
        # non-fused path: scale the input channels by the style, one ordinary convolution for the whole batch, scale
        # the output channels by the demodulation coefficients.  Much faster than a grouped convolution over the
        # batch when the batch is large (batched AttFind stacks hundreds of style variants).
        out = F.conv2d(x * style[:, :, None, None], self.scale * self.weight, padding=self.kernel // 2)
        if self.demodulate:
            w2 = (self.scale * self.weight).pow(2).sum((2, 3))  # (out, in)
            out = out * torch.rsqrt(style.pow(2) @ w2.t() + 1e-8)[:, :, None, None]
        return out


class StyledLayer(nn.Module):
    """Affine A(w) -> style, modulated conv, noise, bias, leaky ReLU (or, for toRGB, no noise/activation)."""

    def __init__(self, w_dim: int, in_ch: int, out_ch: int, kernel: int = 3, rgb: bool = False):
        super().__init__()
        self.rgb = rgb
        # the style starts at 1 (bias init 1), so modulation starts as the identity
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.conv = ModulatedConv2d(in_ch, out_ch, kernel, demodulate=not rgb)
        self.noise_strength = None if rgb else nn.Parameter(torch.zeros(1, out_ch, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, out_ch, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        x = self.conv(x, style)
        if self.rgb:
            return x + self.bias
        if noise is not None:
            x = x + self.noise_strength * noise
        return F.leaky_relu(x + self.bias, 0.2) * math.sqrt(2)


def channels(size: int, capacity: int, fmap_max: int) -> dict[int, int]:
    """Channels per resolution: capacity * 2 * size / res, capped at fmap_max (the repro's filter rule)."""
    return {4 * 2**i: min(fmap_max, capacity * 2 * size // (4 * 2**i)) for i in range(int(math.log2(size)) - 1)}


class StyleGenerator(nn.Module):
    """Synthesis network with an explicit StyleSpace; ``forward(w, noise)`` = ``synthesize(styles(w), noise)``.

    Layers, in order: const 4x4 -> conv(4); per resolution r = 8 .. size: upsample, conv, conv; a toRGB after each
    resolution, summed with the upsampled previous RGB (skip architecture).
    """

    def __init__(self, size: int, w_dim: int, capacity: int = 8, fmap_max: int = 256, img_channels: int = 1):
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"image size must be a power of two >= 8, got {size}")
        self.size, self.w_dim, self.img_channels = size, w_dim, img_channels
        ch = channels(size, capacity, fmap_max)
        self.const = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        convs: list[StyledLayer] = [StyledLayer(w_dim, ch[4], ch[4])]
        rgbs: list[StyledLayer] = [StyledLayer(w_dim, ch[4], img_channels, kernel=1, rgb=True)]
        self.conv_res = [4]
        res = 8
        while res <= size:
            convs += [StyledLayer(w_dim, ch[res // 2], ch[res]), StyledLayer(w_dim, ch[res], ch[res])]
            rgbs.append(StyledLayer(w_dim, ch[res], img_channels, kernel=1, rgb=True))
            self.conv_res += [res, res]
            res *= 2
        self.convs, self.rgbs = nn.ModuleList(convs), nn.ModuleList(rgbs)
        #: sizes of the conv style vectors: the StyleSpace layout (toRGB styles are kept but not coordinates)
        self.style_dims = [layer.conv.in_ch for layer in self.convs]
        self.offsets = [0, *torch.tensor(self.style_dims).cumsum(0).tolist()]

    @property
    def n_coords(self) -> int:
        return self.offsets[-1]

    def coord_to_layer(self, index: int) -> tuple[int, int]:
        """Flat StyleSpace coordinate -> (conv layer, channel)."""
        if not 0 <= index < self.n_coords:
            raise IndexError(f"style coordinate {index} out of range 0..{self.n_coords - 1}")
        layer = max(i for i, o in enumerate(self.offsets[:-1]) if o <= index)
        return layer, index - self.offsets[layer]

    def styles(self, w: torch.Tensor) -> list[torch.Tensor]:
        """The style vectors for ``w`` (N, w_dim): conv layers first (the StyleSpace), then the toRGB layers."""
        return [layer.affine(w) for layer in self.convs] + [layer.affine(w) for layer in self.rgbs]

    def flatten(self, styles: list[torch.Tensor]) -> torch.Tensor:
        """(N, n_coords): the StyleSpace coordinates of ``styles``."""
        return torch.cat(styles[: len(self.convs)], 1)

    def unflatten(self, flat: torch.Tensor, styles: list[torch.Tensor]) -> list[torch.Tensor]:
        """``styles`` with the conv styles replaced by ``flat`` (N, n_coords); toRGB styles kept (broadcast)."""
        convs = list(torch.split(flat, self.style_dims, dim=1))
        rgb = [s.expand(len(flat), -1) if len(s) == 1 else s for s in styles[len(self.convs) :]]
        return convs + rgb

    def make_noise(self, n: int, generator: torch.Generator | None = None, device=None) -> list[torch.Tensor]:
        """One per-pixel noise image (N, 1, r, r) per conv layer."""
        return [torch.randn(n, 1, r, r, generator=generator).to(device or self.const.device) for r in self.conv_res]

    def synthesize(self, styles: list[torch.Tensor], noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Image (N, C, size, size) from the style vectors (``styles(w)`` or shifted ones); noise None = random."""
        n = len(styles[0])
        if noise is None:
            noise = self.make_noise(n)
        noise = [z.expand(n, -1, -1, -1) if len(z) == 1 else z for z in noise]
        conv_styles, rgb_styles = styles[: len(self.convs)], styles[len(self.convs) :]
        x = self.convs[0](self.const.expand(n, -1, -1, -1), conv_styles[0], noise[0])
        img = self.rgbs[0](x, rgb_styles[0], None)
        for k in range(1, len(self.rgbs)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = self.convs[2 * k - 1](x, conv_styles[2 * k - 1], noise[2 * k - 1])
            x = self.convs[2 * k](x, conv_styles[2 * k], noise[2 * k])
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
            img = img + self.rgbs[k](x, rgb_styles[k], None)
        return img

    def forward(self, w: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self.synthesize(self.styles(w), noise)


class DiscBlock(nn.Module):
    """Residual block: two 3x3 convs and a 1x1 skip, both downsampled by average pooling, summed / sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.avg_pool2d(F.leaky_relu(self.conv2(h), 0.2), 2)
        return (h + F.avg_pool2d(self.skip(x), 2)) / math.sqrt(2)


class ResidualNet(nn.Module):
    """fromRGB, residual blocks down to 4x4, (minibatch std), conv, flatten, linear head with ``out_dim`` outputs."""

    def __init__(
        self, size: int, out_dim: int, capacity: int = 8, fmap_max: int = 256, img_channels: int = 1, mbstd: bool = True
    ):
        super().__init__()
        ch = channels(size, capacity, fmap_max)
        self.from_rgb = nn.Conv2d(img_channels, ch[size], 1)
        blocks, res = [], size
        while res > 4:
            blocks.append(DiscBlock(ch[res], ch[res // 2]))
            res //= 2
        self.blocks = nn.Sequential(*blocks)
        self.mbstd = mbstd
        self.final = nn.Conv2d(ch[4] + int(mbstd), ch[4], 3, padding=1)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(ch[4] * 16, ch[4]), nn.LeakyReLU(0.2), nn.Linear(ch[4], out_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(F.leaky_relu(self.from_rgb(x), 0.2))
        if self.mbstd:  # minibatch standard deviation (Karras et al. 2018): one extra constant feature map
            std = h.std(0, unbiased=False).mean() if len(h) > 1 else h.new_zeros(())
            h = torch.cat([h, std.expand(len(h), 1, *h.shape[2:])], 1)
        return self.head(F.leaky_relu(self.final(h), 0.2))


class Discriminator(ResidualNet):
    """Realness score (N,); ``n_classes`` > 0 makes it conditional: one score per class, weighted by the class
    probabilities (the StylEx "new" architecture: ``sum_c D(x)_c * p_c``)."""

    def __init__(self, size: int, capacity: int = 8, fmap_max: int = 256, img_channels: int = 1, n_classes: int = 0):
        super().__init__(size, max(1, n_classes), capacity, fmap_max, img_channels, mbstd=True)
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor, probs: torch.Tensor | None = None) -> torch.Tensor:
        out = super().forward(x)
        if self.n_classes:
            if probs is None:
                raise ValueError("a conditional discriminator needs the class probabilities: D(x, probs)")
            return (out * probs).sum(1)
        return out[:, 0]


class Encoder(ResidualNet):
    """Image -> latent (N, dim): the discriminator's architecture without minibatch std (as the StylEx authors)."""

    def __init__(self, size: int, dim: int, capacity: int = 8, fmap_max: int = 256, img_channels: int = 1):
        super().__init__(size, dim, capacity, fmap_max, img_channels, mbstd=False)


def r1_penalty(score: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018, Eq. 9 without gamma/2): E ||grad_x D(x)||^2 on real images.

    ``real`` must have ``requires_grad`` set before ``score = D(real)`` is computed; a score that does not depend on
    the input has penalty 0.
    """
    (grad,) = torch.autograd.grad(score.sum(), real, create_graph=True, allow_unused=True)
    if grad is None:
        return score.new_zeros(())
    return grad.pow(2).flatten(1).sum(1).mean()
