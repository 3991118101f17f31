"""Batched AttFind against the reproduction's one-coordinate-per-forward loop, side by side, and the cost of one
StylEx training step, at a profile's sizes (default ``cpu``).

    PYTHONPATH=lib .venv/bin/python benchmarks/stylex_attfind.py [--profile cpu] [--images 4] [--threads 1]

Prints both AttFind times, their ratio and the largest difference between their effects (they must agree), then
the seconds per training step (one D and one G step, encoder and mapping paths averaged).  The models are
untrained: the cost of a forward pass does not depend on the weights.
"""

from __future__ import annotations

import argparse
import time

import torch

from genxai.stylex import attfind as af
from genxai.stylex.model import config_from_profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images AttFind runs on")
    parser.add_argument("--batch", type=int, default=256, help="(image, direction, coordinate) rows per forward")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "paper"], help="model sizes")
    parser.add_argument("--steps", type=int, default=6, help="training steps timed (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = config_from_profile(args.profile)
    model = config.build().eval()
    x = config.data("test").images[: args.images]
    codes = af.style_codes(model, x)
    S = model.G_ema.n_coords
    print(
        f"{args.profile} profile: {config.classifier.size} px, capacity {config.capacity}, "
        f"{S} style coordinates, {args.images} images, "
        f"{args.threads} thread(s)"
    )

    t = time.perf_counter()
    batched = af.style_effects(model, codes, batch=args.batch)
    t_batched = time.perf_counter() - t
    t = time.perf_counter()
    loop = af.style_effects_loop(model, codes)
    t_loop = time.perf_counter() - t
    diff = float((batched - loop).abs().max())
    print(
        f"AttFind effects: loop {t_loop:.2f} s, batched {t_batched:.2f} s, ratio {t_loop / t_batched:.1f}x, "
        f"max |difference| {diff:.2e} ({2 * S * args.images} forwards)"
    )
    if diff > 1e-4:
        raise SystemExit("batched and loop effects disagree")

    if args.steps:
        model.train()
        model.C.eval()
        opts = config.optimizers(model)
        gen = torch.Generator().manual_seed(0)
        xb = config.data("train").images[: config.batch_size]
        for s in range(2):
            config.step(model, xb, s, gen, opts)
        t = time.perf_counter()
        for s in range(2, 2 + args.steps):
            config.step(model, xb, s, gen, opts)
        per = (time.perf_counter() - t) / args.steps
        total = per * config.epochs * config.steps_per_epoch
        print(
            f"training step (batch {config.batch_size}): {per:.3f} s; {args.profile} profile "
            f"{config.epochs * config.steps_per_epoch} steps: about {total / 60:.0f} min"
        )


if __name__ == "__main__":
    main()
