"""SAGAN self-attention (Zhang et al. 2019, Sec. 3; the work's Fig. 5.6) and its maps (Fig. 6.7).

A block computes, for every position i of a (C, H, W) feature map, a softmax over all
positions j of query_i . key_j (query/key: 1x1 convolutions to C/8 channels), mixes the
value vectors (1x1 convolution to C) with those weights and returns ``gamma * out + x``.
``gamma`` starts at 0, so a freshly initialised block is the identity and the network
first relies on local convolutions, then learns how much non-local evidence to add.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """SAGAN attention block; keeps the last attention tensor (B, N, N) in ``last_attention``.

    Row i of ``last_attention[b]`` is the distribution over key positions that query
    position i attends to (rows sum to 1).
    """

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        inner = max(1, channels // reduction)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))  # zero start: identity block at init
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2)  # (B, C/8, N)
        k = self.key(x).flatten(2)  # (B, C/8, N)
        v = self.value(x).flatten(2)  # (B, C, N)
        attn = F.softmax(torch.bmm(q.transpose(1, 2), k), dim=-1)  # (B, N_query, N_key)
        out = torch.bmm(v, attn.transpose(1, 2)).view(b, c, h, w)  # out_i = sum_j attn_ij v_j
        self.last_attention = attn.detach()
        return self.gamma * out + x


def attention_blocks(model: nn.Module) -> list[SelfAttention]:
    return [m for m in model.modules() if isinstance(m, SelfAttention)]


@torch.no_grad()
def attention_maps(
    generator: nn.Module,
    z: torch.Tensor,
    query_pixels: Sequence[tuple[int, int]] | torch.Tensor,
    block: int = 0,
    upsample: bool = False,
    **condition,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention maps of ``generator``'s self-attention ``block`` for output-image query pixels.

    Args:
        generator: any module containing :class:`SelfAttention` blocks, called as
            ``generator(z, **condition)`` and returning images (B, C, H, W).
        z: latent codes (B, latent_dim).
        query_pixels: (row, col) positions in *output image* coordinates, the same for every
            sample, or an integer tensor (B, Q, 2) with each sample's own queries (e.g. picked
            on and off its stroke by :func:`genxai.gan_xai.plots.stroke_queries`); each is mapped
            to the attention layer's grid by scaling (a 28x28 output with attention at 14x14
            maps pixel (r, c) to (r // 2, c // 2)).
        block: which attention block (in module order).
        upsample: return maps resized (nearest) to the image size instead of the layer's grid.

    Returns:
        ``(images, maps)`` with maps of shape (B, Q, h, w): for each query pixel the
        distribution over the previous layer's positions it attends to (sums to 1 over
        h x w unless upsampled).
    """
    blocks = attention_blocks(generator)
    if not blocks:
        raise ValueError("the generator has no SelfAttention block: build it with attention=True")
    if not 0 <= block < len(blocks):
        raise ValueError(f"block {block} out of range: the generator has {len(blocks)} attention block(s)")
    was_training = generator.training
    generator.eval()
    images = generator(z, **condition)
    generator.train(was_training)
    attn = blocks[block].last_attention  # (B, N, N)
    H, W = images.shape[-2:]
    n = attn.shape[-1]
    # the attention grid has the image's aspect ratio; recover (h, w) from N and H/W
    h = int(round((n * H / W) ** 0.5))
    w = n // h
    if h * w != n:
        raise ValueError(f"cannot infer the attention grid from N={n} and image {H}x{W}")
    q = torch.as_tensor(query_pixels, dtype=torch.long).to(attn.device)
    if q.ndim == 2:  # shared queries (Q, 2) -> (B, Q, 2)
        q = q.unsqueeze(0).expand(attn.shape[0], -1, -1)
    if q.ndim != 3 or q.shape[0] != attn.shape[0] or q.shape[-1] != 2:
        raise ValueError(
            f"query_pixels must be (Q, 2) pairs or a (B={attn.shape[0]}, Q, 2) tensor, got shape {tuple(q.shape)}"
        )
    r, c = q[..., 0], q[..., 1]
    outside = (r < 0) | (r >= H) | (c < 0) | (c >= W)
    if outside.any():
        bad = q[outside][0].tolist()
        raise ValueError(f"query pixel {tuple(bad)} lies outside the {H}x{W} image")
    index = (r * h // H) * w + (c * w // W)  # (B, Q)
    rows = torch.gather(attn, 1, index.unsqueeze(-1).expand(-1, -1, attn.shape[-1]))  # (B, Q, N)
    maps = rows.view(attn.shape[0], -1, h, w)
    if upsample:
        maps = F.interpolate(maps, size=(H, W), mode="nearest")
    return images, maps
