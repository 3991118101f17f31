"""InfoGAN categorical-code accuracy as training goes on, per seed (a study, not a speed benchmark).

Trains the gan_xai profile's InfoGAN with more epochs than the profile asks for and measures, after
every ``--every`` epochs, the share of generated digits whose code matches our classifier's label
under the best one-to-one code-digit matching (the notebook's metric).  Training resumes from a
checkpoint between measurements, so the model after 15 epochs is the one a 15-epoch run gives.

    python studies/gan_xai_infogan_training_length.py --seed 0 --epochs 25 --threads 1
    python studies/gan_xai_infogan_training_length.py --seeds 0 1 --workers 2 --threads 1
    python studies/gan_xai_infogan_training_length.py --set lr_g=2e-4 --set lambda_cat=2

``--set NAME=VALUE`` overrides one field of the profile's InfoGANConfig (a variant to compare).

The seeds are jobs of :func:`genxai.executor.map_seeds`: one after the other in this process by
default, side by side in ``--workers`` processes (two seeds with ``--threads 1`` each on 2 cores), or
on a Dask cluster (``--scheduler``).  The InfoGAN is not cached: its checkpoint lives in a temporary
folder of the job; the classifier comes from the model cache (trained once if missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from genxai import profiles, repro
from genxai.executor import map_seeds
from genxai.gan_xai import InfoGANConfig, code_predictions, matched_accuracy
from genxai.models import standard_classifier
from genxai.runner import config_overrides


def one_seed(study: dict, seed: int) -> list[dict]:
    """Train ``seed``'s InfoGAN for ``study["epochs"]`` epochs, measuring every ``study["every"]``."""
    classifier = standard_classifier("mnist", study["profile"], progress=False).model.eval()
    config = InfoGANConfig(**{**study["settings"], "seed": seed})
    repro.seed_everything(seed, threads=None)  # as get_or_train seeds, then builds, a training
    model = config.build()
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "infogan.partial.pt"
        for epochs in range(study["every"], study["epochs"] + 1, study["every"]):
            # each call resumes from the checkpoint, RNG states included: the same as one uninterrupted run
            dataclasses.replace(config, epochs=epochs).fit(model, checkpoint, torch.device("cpu"), progress=False)
            G = model.G.eval()
            codes, preds = code_predictions(
                G, classifier, n_per_code=study["per_code"], generator=torch.Generator().manual_seed(seed + 1)
            )
            acc, _ = matched_accuracy(codes, preds, G.n_cat, 10)
            G.train()
            rows.append({"epochs": epochs, "accuracy": acc, "seconds": time.time() - started})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", help="gan_xai profile whose InfoGAN settings are used")
    ap.add_argument("--seeds", "--seed", type=int, nargs="+", default=[0], help="training seeds")
    ap.add_argument("--epochs", type=int, default=25, help="train this many epochs in all")
    ap.add_argument("--every", type=int, default=5, help="measure after every this many epochs")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of each seed's job")
    ap.add_argument("--workers", type=int, default=1, help="seeds run at once (local processes or LocalCluster)")
    ap.add_argument("--scheduler", help="a Dask scheduler address, or 'local' (default: local processes)")
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
    P = profiles.get("gan_xai", args.profile)
    settings = {**P.infogan, **overrides}
    InfoGANConfig(**settings)  # a bad setting fails here, before any job starts
    study = {
        "profile": args.profile,
        "settings": settings,
        "epochs": args.epochs,
        "every": args.every,
        "per_code": args.per_code,
    }
    table = map_seeds(
        one_seed, {"infogan": study}, args.seeds, scheduler=args.scheduler, workers=args.workers, threads=args.threads
    )
    for seed, rows in table.groupby("seed", sort=False):
        config = InfoGANConfig(**{**settings, "seed": int(seed)})
        print(
            f"seed {seed}, {args.threads} thread(s), settings {dataclasses.asdict(config)} "
            f"(on {rows['worker'].iloc[0]})"
        )
        print("epochs  accuracy  seconds")
        for _, r in rows.iterrows():
            print(f"{r['epochs']:6d}  {r['accuracy']:8.3f}  {r['seconds']:7.0f}", flush=True)


if __name__ == "__main__":
    main()
