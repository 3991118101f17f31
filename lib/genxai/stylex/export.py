"""StylEx counterfactuals for people: before/after animations of one attribute on one image (the user studies'
GIFs, written with the study app's spec by :func:`genxai.study.make_items.write_items`) and the poster's
counterfactual figure (original, reconstruction, attribute #1 and #2 shifted, the classifier's probability under
each image)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ..study.make_items import Animation, ping_pong_durations, write_items
from .attfind import StyleCodes, _targets, images_of
from .model import StylEx


@torch.no_grad()
def attribute_animations(
    model: StylEx,
    codes: StyleCodes,
    attributes: Sequence[tuple[int, int]],
    images: Sequence[int],
    shift_size: float = 1.0,
    steps: int = 6,
    class_names: Sequence[str] | None = None,
    group: str = "stylex",
) -> list[Animation]:
    """One animation per (attribute, image): coordinate i moves from s_n[i] towards s_min[i] (d = 0) or s_max[i]
    (d = 1) by ``shift_size`` of the way, in ``steps`` frames, and back.  Attribute ids are ``d<d>_s<i>``."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (before and after), got {steps}")
    N = len(codes.flat)
    bad = [n for n in images if not 0 <= n < N]
    if bad:
        raise IndexError(f"images {bad} out of range: the codes hold {N} images")
    amounts = torch.linspace(0.0, 1.0, steps)
    out = []
    for d, i in attributes:
        for n in images:
            row = torch.tensor([n])
            full = _targets(codes, row, torch.tensor([d]), torch.tensor([i]), shift_size)
            flat = codes.flat[row].repeat(steps, 1)
            flat[:, i] = codes.flat[n, i] + amounts * (full - codes.flat[n, i])
            sub = StyleCodes(
                [s[row].repeat(steps, 1) for s in codes.styles],
                flat,
                codes.logits[row],
                codes.noise,
                codes.s_min,
                codes.s_max,
            )
            frames = images_of(model, sub, flat).clamp(-1, 1)
            frames = torch.cat([frames, frames[1:-1].flip(0)]) if steps > 2 else frames
            c = int(codes.predicted[n])
            out.append(
                Animation(
                    attribute=f"d{d}_s{i}",
                    image=str(n),
                    cls=class_names[c] if class_names else c,
                    shift=float(shift_size),
                    frames=frames,
                    group=group,
                    durations=ping_pong_durations(steps),
                )
            )
    return out


def export_study(out_dir: str | Path, animations: list[Animation], seed: int = 0, scale: int = 8) -> Path:
    """GIFs + ``items.json`` (attribute id, image id, class, shift per item) for the study app."""
    return write_items(out_dir, animations, title="Which change is it? (StylEx attributes)", seed=seed, scale=scale)


@torch.no_grad()
def single_attribute_images(
    model: StylEx, codes: StyleCodes, toward: dict[int, list[tuple[int, int]]], rank: int, shift_size: float = 1.0
) -> torch.Tensor:
    """Each image with only its ``rank``-th attribute towards the other class shifted (rank 0 = attribute #1)."""
    only = {c: attrs[rank : rank + 1] for c, attrs in toward.items()}
    from .attfind import shift_toward

    return images_of(model, codes, shift_toward(codes, only, 1, shift_size)).clamp(-1, 1)


@torch.no_grad()
def counterfactual_figure(
    model: StylEx,
    codes: StyleCodes,
    originals: torch.Tensor,
    toward: dict[int, list[tuple[int, int]]],
    images: Sequence[int],
    class_names: Sequence[str],
    shift_size: float = 1.0,
):
    """The poster's figure: per image, original, reconstruction, attribute #1 and attribute #2 shifted (towards
    the other class), with the classifier's probability of the second class under each.  Returns the figure."""
    from ..viz import image_grid

    idx = torch.as_tensor(list(images), dtype=torch.long)
    columns = [
        originals.cpu(),
        images_of(model, codes, codes.flat).clamp(-1, 1),
        single_attribute_images(model, codes, toward, 0, shift_size),
        single_attribute_images(model, codes, toward, 1, shift_size),
    ]
    grid = torch.stack([col[idx] for col in columns], 1).flatten(0, 1)  # row-major: image by image
    device = codes.flat.device
    probs = model.C(grid.to(device)).softmax(1)[:, 1].cpu()
    titles = [f"p({class_names[1]})={p:.2f}" for p in probs.tolist()]
    names = ["original", "reconstruction", "attribute #1", "attribute #2"]
    fig = image_grid(grid, nrow=4, titles=titles, cell=1.4, suptitle=f"StylEx counterfactuals (shift {shift_size:g})")
    for c, name in enumerate(names):
        fig.axes[c].set_title(f"{name}\n{titles[c]}", fontsize=8)
    return fig
