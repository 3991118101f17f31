"""``genxai handwrite "some text" --style SEED --out file.png``: handwriting from the cached ScrabbleGAN."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from ..profiles import PROFILES

TRAIN_COMMAND = "genxai reproduce --paper scrabblegan --profile {profile}"


def cached_generator(profile: str, seed: int = 0, dataset: str | None = None, device: str = "cpu"):
    """The generator of the profile's cached ScrabbleGAN (any thread count it was trained with); never trains.

    Raises ``FileNotFoundError`` naming the command that trains it.
    """
    from .. import profiles
    from ..models import load_cached
    from .train import ScrabbleGANConfig

    settings = dict(profiles.get("scrabblegan", profile).gan)
    if dataset:
        settings["dataset"] = dataset
    config = ScrabbleGANConfig(**settings, seed=seed)
    tried = []
    for threads in dict.fromkeys([torch.get_num_threads(), *range(1, (os.cpu_count() or 1) + 1)]):
        try:
            return load_cached(config, device=device, threads=threads).model.G.eval()
        except FileNotFoundError:
            tried.append(threads)
    raise FileNotFoundError(
        f"no cached ScrabbleGAN for profile {profile!r} (data set {settings['dataset']}, seed {seed}; looked for "
        f"models trained with {tried} threads): train it with `{TRAIN_COMMAND.format(profile=profile)}`"
    )


def _cmd_handwrite(args: argparse.Namespace) -> int:
    from ..repro import atomic_path
    from ..viz import to_display
    from .experiments import handwrite

    try:
        G = cached_generator(args.profile, args.seed, args.dataset)
        image = handwrite(G, args.text, args.style)
    except (FileNotFoundError, ValueError) as err:
        print(f"genxai handwrite: error: {err}", file=sys.stderr)
        return 1
    from PIL import Image

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        print(f"genxai handwrite: error: --out must name a .png file, got {out}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    arr = (to_display(image) * 255).round().astype("uint8")
    arr = Image.fromarray(arr).resize((arr.shape[1] * args.scale, arr.shape[0] * args.scale), Image.NEAREST)
    with atomic_path(out) as tmp:
        arr.save(tmp, format="png")
    print(f"wrote {out} ({image.shape[-1]} x {image.shape[-2]} px, style {args.style})")
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("handwrite", help="write text as generated handwriting with the cached ScrabbleGAN")
    p.add_argument("text", help="the text; words separated by spaces are written one by one in one style")
    p.add_argument("--style", type=int, default=0, help="style seed: the same seed gives the same hand")
    p.add_argument("--out", required=True, help="the PNG file to write")
    p.add_argument("--profile", default="cpu", choices=PROFILES, help="whose cached model (default cpu)")
    p.add_argument("--dataset", help="the GAN's data set if not the profile's (digit_strings | handwriting | iam)")
    p.add_argument("--seed", type=int, default=0, help="the GAN's training seed (the notebooks' seed)")
    p.add_argument("--scale", type=int, default=2, help="enlarge the image this many times (nearest neighbour)")
    p.set_defaults(func=_cmd_handwrite)
