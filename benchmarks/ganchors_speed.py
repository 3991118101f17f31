"""Time per explanation of each GANchors sampler as a ratio to random stitching, in one run.

Same images, same search settings, same cached models for every sampler (the notebook's profile).
Usage: python benchmarks/ganchors_speed.py [--profile smoke|cpu|paper] [--dataset mnist] [--images 2]
       [--methods random_stitching,batch_bn_reuse] [--pool-init 512] [--gan-seed 13]
Prints a table: minutes per explanation, ratio to random stitching, search precision, over_xi.
The paper's rows without reuse take minutes per explanation on 2 cores (cpu profile): leave them out
with --methods to time our reuse rows against random stitching only.
"""

from __future__ import annotations

import argparse

from genxai import data, profiles, repro
from genxai.ganchors import DCGANConfig, EncoderConfig, SearchConfig
from genxai.ganchors.experiments import make_samplers, run_protocol, summarize
from genxai.models import standard_classifier
from genxai.models.parallel import get_or_train_many


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--images", type=int, default=None, help="images to explain (default: the profile's)")
    ap.add_argument(
        "--methods", default=None, help="comma-separated rows (default: all; random_stitching is always kept)"
    )
    ap.add_argument(
        "--pool-init",
        type=int,
        default=None,
        help="prior draws per explained image in the reuse rows' sample pool (default: make_samplers')",
    )
    ap.add_argument(
        "--gan-seed",
        type=int,
        default=None,
        help="training seed of the DCGAN (default: the notebook's); another seed trains and caches another DCGAN",
    )
    args = ap.parse_args()
    P = profiles.get("ganchors", args.profile)
    repro.seed_everything(0)
    clf = standard_classifier(args.dataset, args.profile).model
    gan_cfg = DCGANConfig(
        dataset=args.dataset, **{**P.gan, **({} if args.gan_seed is None else {"seed": args.gan_seed})}
    )
    # trained (if uncached) the way the notebook trains them, so the benchmark explains the same weights
    [gan] = get_or_train_many([gan_cfg])
    [enc] = get_or_train_many([EncoderConfig(gan=gan_cfg, **P.encoder)])
    G, enc = gan.model.G.eval(), enc.model.eval()
    test = data.load(args.dataset, "test")
    images = test.first_of_each_class().images[: args.images or P.n_images]
    # one step cap (max_steps) for every row on purpose: the notebook's cheaper cap for the paper's rows
    # (paper_rows_max_steps) saves wall time, but a speed benchmark compares samplers under equal settings
    samplers = make_samplers(
        G,
        enc,
        test.images[len(test) // 2 :],
        P.xi,
        P.n_latents,
        restart_steps=P.restart_steps,
        max_steps=P.max_steps,
        **({} if args.pool_init is None else {"pool_init": args.pool_init}),
    )
    if args.methods:
        keep = {"random_stitching", *args.methods.split(",")}
        unknown = keep - set(samplers)
        if unknown:
            raise SystemExit(f"unknown --methods {sorted(unknown)}; choose from {sorted(samplers)}")
        samplers = {k: v for k, v in samplers.items() if k in keep}
    # warm-up so that no sampler pays for first-call allocations
    run_protocol(clf, samplers, images[:1], 1, SearchConfig(**{**P.search, "max_anchor_size": 1}), P.segments, 2)
    df = run_protocol(clf, samplers, images, 1, SearchConfig(**P.search), P.segments, 2)
    t1, t2 = summarize(df)
    out = t1.merge(t2[["method", "precision", "over_xi"]], on="method")
    print(out.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
