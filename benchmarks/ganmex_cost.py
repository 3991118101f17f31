"""Cost of a GANMEX baseline relative to the attribution it serves (issue target: < 5%).

Times, side by side in one run and on the same batch of MNIST test images, (a) generating the GANMEX
baselines G(x, c_t) and (b) IntegratedGradients with 50 steps from those baselines, and prints the
ratio (a)/(b).  Models are the ganmex profile's classifier and generator (trained on first use).

    GENXAI_DATA_DIR=... .venv/bin/python benchmarks/ganmex_cost.py [--profile cpu] [--batch 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from genxai import profiles, repro
from genxai.ganmex import GANMEXConfig
from genxai.ganmex.attribution import attribute
from genxai.ganmex.baselines import make_baseline
from genxai.ganmex.experiments import runner_up
from genxai.models import ClassifierConfig, get_or_train


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    P = profiles.get("ganmex", args.profile)
    repro.seed_everything(0)
    clf_cfg = ClassifierConfig(dataset="mnist", seed=0, **P.classifier)
    clf = get_or_train(clf_cfg).model
    G = get_or_train(GANMEXConfig(classifier=clf_cfg, seed=0, **P.gan)).model.generator
    x = clf_cfg.data("test").images[: args.batch]
    c_o, c_t = clf(x).argmax(1), runner_up(clf, x)
    base = make_baseline("ganmex", x, c_t, generator=G)
    t_gen = best_of(lambda: make_baseline("ganmex", x, c_t, generator=G), args.repeats)
    t_ig = best_of(lambda: attribute("ig", clf, x, c_o, base, n_steps=50), args.repeats)
    print(
        f"batch {args.batch}, threads {torch.get_num_threads()}: GANMEX baselines {t_gen * 1e3:.1f} ms, "
        f"IG-50 {t_ig * 1e3:.1f} ms, ratio {t_gen / t_ig:.3%} (target < 5%)"
    )


if __name__ == "__main__":
    main()
