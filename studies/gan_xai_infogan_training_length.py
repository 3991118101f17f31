"""InfoGAN categorical-code accuracy as training goes on, for one seed (a study, not a speed benchmark).

Trains the gan_xai profile's InfoGAN with more epochs than the profile asks for and measures, after
every ``--every`` epochs, the share of generated digits whose code matches our classifier's label
under the best one-to-one code-digit matching (the notebook's metric).  Training resumes from a
checkpoint between measurements, so the model after 15 epochs is the one a 15-epoch run gives.

    python studies/gan_xai_infogan_training_length.py --seed 0 --epochs 25 --threads 1
    python studies/gan_xai_infogan_training_length.py --set lr_g=2e-4 --set lambda_cat=2

``--set NAME=VALUE`` overrides one field of the profile's InfoGANConfig (a variant to compare).

Run two seeds side by side with ``--threads 1`` each on 2 cores.  Nothing is cached: the
checkpoint lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from genxai import profiles, repro
from genxai.gan_xai import InfoGANConfig, code_predictions, matched_accuracy
from genxai.models import standard_classifier
from genxai.runner import config_overrides


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", help="gan_xai profile whose InfoGAN settings are used")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--epochs", type=int, default=25, help="train this many epochs in all")
    ap.add_argument("--every", type=int, default=5, help="measure after every this many epochs")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of this process")
    ap.add_argument("--per-code", type=int, default=100, help="generated images per categorical code")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an InfoGANConfig field of the profile, e.g. --set lr_g=2e-4 (repeatable)",
    )
    args = ap.parse_args()
    try:
        overrides = config_overrides(InfoGANConfig, args.set)
    except ValueError as e:
        ap.error(str(e))
    torch.set_num_threads(args.threads)
    P = profiles.get("gan_xai", args.profile)
    classifier = standard_classifier("mnist", args.profile, progress=False).model.eval()
    config = InfoGANConfig(**{**P.infogan, **overrides, "seed": args.seed})
    repro.seed_everything(args.seed, threads=None)  # as get_or_train seeds, then builds, a training
    model = config.build()
    started = time.time()
    print(f"seed {args.seed}, {args.threads} thread(s), settings {dataclasses.asdict(config)}")
    print("epochs  accuracy  seconds")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "infogan.partial.pt"
        for epochs in range(args.every, args.epochs + 1, args.every):
            # each call resumes from the checkpoint, RNG states included: the same as one uninterrupted run
            dataclasses.replace(config, epochs=epochs).fit(model, checkpoint, torch.device("cpu"), progress=False)
            G = model.G.eval()
            codes, preds = code_predictions(
                G, classifier, n_per_code=args.per_code, generator=torch.Generator().manual_seed(args.seed + 1)
            )
            acc, _ = matched_accuracy(codes, preds, G.n_cat, 10)
            G.train()
            print(f"{epochs:6d}  {acc:8.3f}  {time.time() - started:7.0f}", flush=True)


if __name__ == "__main__":
    main()
