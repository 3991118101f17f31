"""StarGAN-style networks sized for 28-32 px images (GANMEX, Sec. 3.1; StarGAN, Choi et al. 2018).

``Generator`` is StarGAN's G(x, c): the one-hot target class is tiled as extra input channels,
then conv7 -> two stride-2 down convs -> residual blocks -> two stride-2 transposed convs ->
conv7 -> tanh.  ``residual=True`` (our default) outputs clip(x + 2 tanh(h)) and zero-initialises
the last conv, so training starts from G(x, c) = x: with ~1% of StarGAN's steps on 2 CPU cores
this is what keeps the baselines close to the inputs.  Images must have H and W divisible by 4 (28 and 32 are).
Widths and the number of residual blocks are parameters, because the official 64/6 setting is far too slow on
2 CPU cores.

``Critic`` is StarGAN's PatchGAN D_src (LeakyReLU 0.01, no normalisation, as WGAN-GP needs),
two stride-2 convs instead of six (the official depth would shrink 28 px below one pixel).  With
``n_classes`` set it also has StarGAN's D_cls head, used only by the *stand-alone* ablation
(Fig. 5A): GANMEX proper replaces D_cls by the frozen classifier.  With ``conditional`` set it scores
(image, class) pairs by projection (Miyato & Koyama 2018): each patch's score gains the inner product of its
features with an embedding of the claimed class, so a realistic digit of the *wrong* class scores as fake.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(dim, dim, 3, padding=1, bias=False),
            nn.InstanceNorm2d(dim, affine=True),
            nn.ReLU(),
            nn.Conv2d(dim, dim, 3, padding=1, bias=False),
            nn.InstanceNorm2d(dim, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Generator(nn.Module):
    """G(x, c): translate images ``x`` (N, C, H, W) in [-1, 1] to target classes ``c`` (N,)."""

    def __init__(self, channels: int, n_classes: int, dim: int = 32, n_res: int = 3, residual: bool = True):
        super().__init__()
        self.channels, self.n_classes, self.residual = channels, n_classes, residual

        def block(cin, cout, conv):
            return [conv(cin, cout), nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]

        layers = block(channels + n_classes, dim, lambda i, o: nn.Conv2d(i, o, 7, padding=3, bias=False))
        layers += block(dim, 2 * dim, lambda i, o: nn.Conv2d(i, o, 4, 2, 1, bias=False))
        layers += block(2 * dim, 4 * dim, lambda i, o: nn.Conv2d(i, o, 4, 2, 1, bias=False))
        layers += [ResidualBlock(4 * dim) for _ in range(n_res)]
        layers += block(4 * dim, 2 * dim, lambda i, o: nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False))
        layers += block(2 * dim, dim, lambda i, o: nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False))
        layers += [nn.Conv2d(dim, channels, 7, padding=3)]
        self.net = nn.Sequential(*layers)
        self.out = nn.Tanh()
        if residual:  # start at the identity map: the last conv begins at zero
            nn.init.zeros_(layers[-1].weight)
            nn.init.zeros_(layers[-1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(
                f"GANMEX generator needs H and W divisible by 4, got {tuple(x.shape[-2:])}: "
                "resize the images (e.g. genxai.data.load(..., size=32))"
            )
        c = torch.as_tensor(c, device=x.device).long().reshape(-1).expand(len(x))
        onehot = F.one_hot(c, self.n_classes).to(x.dtype)[:, :, None, None]
        h = self.net(torch.cat([x, onehot.expand(-1, -1, *x.shape[-2:])], 1))
        if self.residual:
            # x + 2 tanh(h), clipped to [-1, 1]: G(x, c) = x when h = 0 (a CPU-budget choice; an
            # atanh(x) skip saturates tanh on the -1 background and stalls training)
            return (x + 2 * self.out(h)).clamp(-1.0, 1.0)
        return self.out(h)


class Critic(nn.Module):
    """PatchGAN D_src (and optional D_cls head): returns (src scores (N,), class logits or None).

    ``conditional=k`` adds a projection term for k classes: call it as ``critic(x, c)``.
    """

    def __init__(
        self, channels: int, img_size: int, dim: int = 32, n_classes: int | None = None, conditional: int | None = None
    ):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, dim, 4, 2, 1), nn.LeakyReLU(0.01), nn.Conv2d(dim, 2 * dim, 4, 2, 1), nn.LeakyReLU(0.01)
        )
        self.src = nn.Conv2d(2 * dim, 1, 3, padding=1)
        self.cls = nn.Conv2d(2 * dim, n_classes, img_size // 4) if n_classes else None
        self.embed = nn.Embedding(conditional, 2 * dim) if conditional else None
        if self.embed is not None:  # start as the unconditional critic
            nn.init.zeros_(self.embed.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.trunk(x)
        src = self.src(h).mean(dim=(1, 2, 3))
        if self.embed is not None:
            if c is None:
                raise ValueError("this critic is class-conditional: call it as critic(images, classes)")
            src = src + (self.embed(c.long())[:, :, None, None] * h).sum(1).mean(dim=(1, 2))
        cls = self.cls(h).flatten(1) if self.cls is not None else None
        return src, cls
