"""Writing study items (GIF animations + ``items.json``) from any generator.

Two layers:

* :func:`write_items` takes finished :class:`Animation` objects (frames of one attribute applied to one
  image) and writes the GIFs and the spec.  Any explainer can feed it: StylEx (StyleSpace shifts),
  latent directions, a hand-made edit.
* :func:`latent_animations` makes those animations for a latent generator (the
  :class:`~genxai.gan_xai.protocol.LatentGenerator` protocol: ``latent_dim``, ``sample_latent``,
  ``sample_condition``, ``__call__``) and a direction per attribute: frame t shows G(z + a_t d) for
  a_t from 0 to ``shift`` and back (a looping before/after animation, as in the StylEx studies).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .items import FORMAT, SPEC_NAME, load_spec

#: Display time of the two ends of an animation and of each step between them.
HOLD_MS = 700
STEP_MS = 120


@dataclass
class Animation:
    attribute: str
    image: str
    cls: str | int
    shift: float
    frames: torch.Tensor  # (T, C, H, W) in [-1, 1]
    group: str = "default"
    durations: list[int] | None = None  # ms per frame; None: HOLD_MS each


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "x"


def ping_pong_durations(n_steps: int) -> list[int]:
    """Durations for frames 0..n-1..1: the unedited and the fully edited image are held longer."""
    forward = [HOLD_MS] + [STEP_MS] * (n_steps - 2) + [HOLD_MS]
    return forward + [STEP_MS] * (n_steps - 2) if n_steps > 2 else forward


def latent_animations(
    G: Any,
    directions: Mapping[str, torch.Tensor],
    n_images: int,
    shift: float,
    steps: int = 6,
    seed: int = 0,
    classify: Callable[[torch.Tensor], torch.Tensor] | None = None,
    group: str = "default",
) -> list[Animation]:
    """One animation per (attribute, image): G(z_i + a d) for a in linspace(0, shift, steps) and back.

    ``directions`` maps attribute ids to latent vectors (latent_dim,); ``classify`` (optional) maps
    images to logits, and the predicted class of the unedited image is recorded as the item's class.
    """
    from ..gan_xai.protocol import check_generator, take_condition

    check_generator(G)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (before and after), got {steps}")
    if n_images < 1:
        raise ValueError(f"n_images must be positive, got {n_images}")
    gen = torch.Generator().manual_seed(seed)
    z = G.sample_latent(n_images, generator=gen)
    condition = G.sample_condition(n_images, generator=gen)
    amounts = torch.linspace(0.0, float(shift), steps)
    out: list[Animation] = []
    with torch.no_grad():
        base = G(z, **condition)
        classes = classify(base).argmax(1).tolist() if classify is not None else ["n/a"] * n_images
        for attribute, direction in directions.items():
            direction = torch.as_tensor(direction, dtype=z.dtype).reshape(-1)
            if direction.numel() != G.latent_dim:
                raise ValueError(
                    f"direction {attribute!r} has {direction.numel()} entries, the generator's latent "
                    f"space {G.latent_dim}"
                )
            for i in range(n_images):
                zi = z[i : i + 1] + amounts[:, None] * direction[None]
                cond = take_condition(condition, torch.full((steps,), i, dtype=torch.long))
                frames = G(zi, **cond)
                frames = torch.cat([frames, frames[1:-1].flip(0)]) if steps > 2 else frames
                out.append(
                    Animation(
                        attribute=str(attribute),
                        image=str(i),
                        cls=classes[i],
                        shift=float(shift),
                        frames=frames.detach().cpu().float(),
                        group=group,
                        durations=ping_pong_durations(steps),
                    )
                )
    return out


def write_items(
    out_dir: str | Path, animations: list[Animation], title: str = "Which change is it?", seed: int = 0, scale: int = 4
) -> Path:
    """Write ``gifs/*.gif`` and ``items.json`` as the folder ``out_dir``; returns the spec's path (checked by loading).

    The folder is replaced as a whole: the items are written into a new folder beside it, checked, and only then
    put in its place, so GIFs of an earlier export (attributes this run did not find) do not linger beside the new
    spec, and a failed export leaves the previous folder as it was.
    """
    from ..repro import write_json
    from ..viz import save_gif

    if not animations:
        raise ValueError("no animations to write")
    out_dir = Path(out_dir)
    if out_dir.exists() and not _is_items_folder(out_dir):
        # the folder is replaced whole: never one that holds anything but an earlier export (`--out ~/Documents`)
        raise ValueError(
            f"{out_dir} exists and is not a study-items folder (only {SPEC_NAME} and gifs/ may be in it): "
            "pass a new folder, or an empty one"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        items = []
        for anim in animations:
            durations = anim.durations or [HOLD_MS] * len(anim.frames)
            item_id = f"{_safe(anim.group)}-{_safe(anim.attribute)}-{_safe(anim.image)}"
            rel = f"gifs/{item_id}.gif"
            save_gif(anim.frames, new / rel, duration_ms=durations, scale=scale)
            items.append(
                {
                    "id": item_id,
                    "group": anim.group,
                    "attribute": anim.attribute,
                    "image": anim.image,
                    "class": anim.cls,
                    "shift": anim.shift,
                    "gif": rel,
                }
            )
        write_json(new / SPEC_NAME, {"format": FORMAT, "title": title, "seed": seed, "items": items})
        load_spec(new)  # the same checks the server makes, so a bad export fails here, not in front of people
        _replace_folder(new, out_dir)
    finally:
        if new.exists():
            shutil.rmtree(new)
    return out_dir / SPEC_NAME


def _is_items_folder(folder: Path) -> bool:
    """True for an empty folder or one that holds only what :func:`write_items` writes."""
    return folder.is_dir() and {p.name for p in folder.iterdir()} <= {SPEC_NAME, "gifs"}


def _replace_folder(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target``.  A folder cannot be renamed over a non-empty one, so an existing
    ``target`` is first renamed aside and removed after the swap (between the two renames ``target`` is briefly
    absent, never half-written)."""
    from ..repro import _umask

    new.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the results folder gets the usual mode
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old / target.name)
    os.replace(new, target)
    shutil.rmtree(old)
