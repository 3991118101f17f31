"""Attention maps of the handwriting generator (the work's Fig. 6.11) and the work's two observations as numbers.

The self-attention block of :class:`~genxai.scrabblegan.model.Generator` sits after the first or second residual
block, on a (8, 8n) or (16, 16n) grid: one character covers 8 or 16 grid columns, and a grid cell covers 4 x 2 or
2 x 1 image pixels.  (:func:`genxai.gan_xai.attention.attention_maps` infers the grid from the image's aspect ratio,
which this generator's last block changes, so the grid recorded by the block is used here.)

The work (Sec. 6.2.2) observes that (1) queries without writing are silent and those on the writing are active,
and (2) the maps seem split by the number of characters.  :func:`attention_measures` turns both into numbers:

* **on-ink vs off-ink**: the share of a query's attention that lands on inked key positions, for queries on and
  off the ink, against the inked share of the grid (what a uniform map would give); and the correlation of each
  map with the ink (:func:`genxai.gan_xai.metrics.attention_stroke_correlation`, on the ink rather than the
  brightness, since words are dark on white);
* **split by character**: the share of a query's attention inside its own character's 16 columns against the
  uniform 1/n, and the correlation between the map's column profile jumps |p(c) - p(c-1)| and the character
  boundaries (c a multiple of the columns per character): near 0 when the maps ignore the characters, towards 1
  when they change only at the boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..gan_xai.metrics import attention_stroke_correlation
from .measures import INK_THRESHOLD, ink
from .model import Generator


@torch.no_grad()
def word_attention(G: Generator, z: torch.Tensor, text: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 1, 32, 16n) and attention maps (B, N, h, w): row i of query i = (r, c) over the (h, w) grid."""
    if G.attention is None:
        raise ValueError("this generator has no self-attention block: build it with attention=True")
    was = G.training
    G.eval()
    images = G(z, text=list(text))
    G.train(was)
    attn = G.attention.last_attention
    h, w = G.attention.grid
    return images.cpu(), attn.view(attn.shape[0], h * w, h, w).cpu()


def ink_on_grid(images: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) booleans: a grid cell is on the ink when any image pixel it covers is ink."""
    return F.adaptive_max_pool2d(ink(images)[:, None], grid)[:, 0] > INK_THRESHOLD


def attention_measures(images: torch.Tensor, maps: torch.Tensor, n_chars: int) -> dict[str, float]:
    """The work's two observations as numbers (module doc); maps (B, N, h, w) from :func:`word_attention`."""
    b, n, h, w = maps.shape
    if n_chars < 1 or w % n_chars:
        raise ValueError(f"a map of width {w} does not hold {n_chars} characters of equal width")
    per_char = w // n_chars
    on_grid = ink_on_grid(images, (h, w)).flatten(1)  # (B, N): query i and key j on the ink
    flat = maps.flatten(2)  # (B, Nq, Nk)
    ink_mass = (flat * on_grid[:, None, :].float()).sum(-1)  # (B, Nq)
    on = on_grid
    stroke = attention_stroke_correlation(ink(images)[:, None], maps, on)
    # split by character: own-slot mass and boundary correlation of the column profile
    cols = torch.arange(w)
    slot = cols // per_char
    query_slot = slot.repeat(h)  # query i = (r, c) -> slot of c
    profile = maps.sum(2)  # (B, Nq, w)
    own = (profile * (slot[None, None, :] == query_slot[None, :, None]).float()).sum(-1)  # (B, Nq)
    jumps = (profile[..., 1:] - profile[..., :-1]).abs()  # (B, Nq, w - 1): jump into column c = 1..w-1
    boundary = ((cols[1:] % per_char) == 0).float()
    jc = jumps - jumps.mean(-1, keepdim=True)
    bc = boundary - boundary.mean()
    corr = (jc * bc).sum(-1) / (jc.norm(dim=-1) * bc.norm()).clamp_min(1e-12)
    nan = float("nan")
    return {
        "ink_mass_on_ink_queries": float(ink_mass[on].mean()) if on.any() else nan,
        "ink_mass_off_ink_queries": float(ink_mass[~on].mean()) if (~on).any() else nan,
        "ink_share_of_grid": float(on_grid.float().mean()),
        "corr_ink_on_ink_queries": stroke["corr_on_stroke"],
        "corr_ink_off_ink_queries": stroke["corr_off_stroke"],
        "own_character_mass": float(own.mean()),
        "own_character_uniform": 1.0 / n_chars,
        "boundary_corr": float(corr.nanmean()) if n_chars > 1 else nan,
        "n_queries_on_ink": int(on.sum()),
        "n_queries_off_ink": int((~on).sum()),
    }


def pick_queries(
    images: torch.Tensor, grid: tuple[int, int], n_on: int = 3, n_off: int = 2, generator: torch.Generator | None = None
) -> list[list[tuple[int, int]]]:
    """Per image, ``n_on`` grid queries on the ink and ``n_off`` off it (random, seeded), as (row, col) pairs."""
    on_grid = ink_on_grid(images, grid)
    out = []
    for m in on_grid:
        picks = []
        for want, mask in ((n_on, m), (n_off, ~m)):
            idx = torch.nonzero(mask)
            if len(idx):
                sel = torch.randperm(len(idx), generator=generator)[:want]
                picks += [tuple(int(v) for v in idx[i]) for i in sel.tolist()]
        out.append(picks)
    return out
