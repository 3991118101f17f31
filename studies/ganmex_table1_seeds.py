"""GANMEX Table 1 (mean L(A) on the BAM-like benchmark) for several seeds (a study, not a speed benchmark).

For each seed, trains the profile's BAM-like classifier and GANMEX generator exactly as
``notebooks/ganmex/02_colour_and_bam`` does (:func:`genxai.ganmex.experiments.bam_like_configs`), scores
the notebook's pairs and prints Table 1 (the paper's mean), whether GANMEX is lowest in every row, and
the "different object" pairs by direction (GANMEX and MDTS L(A), share of baselines on target, mean
change of the baseline on the object and on the background).  A seed changes the classifier's training
images and initialisation, the GAN's batches and its initialisation; every seed scores the same test pairs.

    python studies/ganmex_table1_seeds.py --seeds 0 1 2 --threads 1
    python studies/ganmex_table1_seeds.py --seeds 0 1 --workers 2 --threads 1
    python studies/ganmex_table1_seeds.py --seeds 2 --set lambda_sim=10 --set steps=4000
    python studies/ganmex_table1_seeds.py --seeds 0 1 2 3 --scheduler tcp://host:8786 --keep-cache

``--set NAME=VALUE`` overrides one field of the generator's GANMEXConfig (a variant to compare).  The seeds
are jobs of :func:`genxai.executor.map_seeds`: one after the other in this process by default, side by side
in ``--workers`` processes (two seeds with ``--threads 1`` each on 2 cores), or on a Dask cluster
(``--scheduler``).  Models go to a temporary cache unless ``--keep-cache`` is given; on a cluster of several
machines use ``--keep-cache`` with a shared ``GENXAI_CACHE_DIR`` (a temporary folder exists on this machine
only).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

from genxai import profiles, repro
from genxai.executor import map_seeds
from genxai.ganmex import GANMEXConfig
from genxai.ganmex import experiments as E
from genxai.ganmex.gan import translate
from genxai.models import get_or_train, predict_logits
from genxai.runner import config_overrides


def one_seed(study: dict, seed: int) -> dict:
    """One seed of the study (``study``: profile and GANMEXConfig overrides); a row of the study's table."""
    profile, overrides = study["profile"], study["overrides"]
    P = profiles.get("ganmex", profile)
    repro.seed_everything(seed, threads=None)
    clf_cfg, gan_cfg = E.bam_like_configs(P, seed)
    gan_cfg = dataclasses.replace(gan_cfg, **overrides)
    started = time.time()
    clf = get_or_train(clf_cfg, "cpu", progress=False)
    gan = get_or_train(gan_cfg, "cpu", progress=False)
    trained = time.time() - started
    train, test = clf_cfg.data("train"), clf_cfg.data("test")
    sel = test.take(range(P.n_table // 2))  # the notebook's test images
    idx, tgt, kinds = E.one_factor_pairs(sel.labels, sel.n_classes)
    x, masks, c_o = sel.images[idx], sel.extra["mask"][idx], sel.labels[idx]
    per_pair = E.localisation_pairs(
        clf.model, x, c_o, tgt, masks, kinds, train, gan.model.generator, n_steps=P.ig_steps, n_eg=P.n_eg, seed=seed
    )
    table = E.summarise_localisation(per_pair)
    # the "different object" pairs by direction: where does the generator change the image?
    base = translate(gan.model.generator, x, tgt)
    change = (base - x).abs().sum(1)
    per_pair["on_target"] = (predict_logits(clf.model, base).argmax(1) == tgt).numpy()
    per_pair["change_object"] = ((change * masks).flatten(1).sum(1) / masks.flatten(1).sum(1)).numpy()
    per_pair["change_background"] = ((change * ~masks).flatten(1).sum(1) / (~masks).flatten(1).sum(1)).numpy()
    per_pair["direction"] = [f"{sel.classes[int(a)]} -> {sel.classes[int(b)]}" for a, b in zip(c_o, tgt)]
    obj = per_pair[per_pair["pairs"] == "different object"]
    return {
        "trained_s": trained,
        "gan_metrics": gan.metrics,
        "table": table,
        "lowest_every_row": E.ganmex_lowest_every_row(table),
        "directions": obj.groupby("direction")[
            ["IG GANMEX", "IG MDTS", "on_target", "change_object", "change_background"]
        ].mean(),
        "pairs_above_1": int((obj["IG GANMEX"] > 1).sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--profile", default="cpu", help="smoke | cpu | paper (settings of profiles/ganmex.json)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of each seed's job")
    ap.add_argument("--workers", type=int, default=1, help="seeds run at once (local processes or LocalCluster)")
    ap.add_argument("--scheduler", help="a Dask scheduler address, or 'local' (default: local processes)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a GANMEXConfig field of the BAM-like generator",
    )
    ap.add_argument("--keep-cache", action="store_true", help="train into the shared model cache")
    args = ap.parse_args()
    try:
        overrides = config_overrides(GANMEXConfig, args.set)
    except ValueError as e:
        ap.error(str(e))
    with tempfile.TemporaryDirectory() as tmp:
        # genxai.paths reads GENXAI_CACHE_DIR at each use: set for each job, the models go there
        env = {} if args.keep_cache else {"GENXAI_CACHE_DIR": tmp}
        study = map_seeds(
            one_seed,
            {"study": {"profile": args.profile, "overrides": overrides}},
            args.seeds,
            scheduler=args.scheduler,
            workers=args.workers,
            threads=args.threads,
            env=env,
        )
    for _, r in study.iterrows():
        print(
            f"\n## seed {r['seed']} ({args.profile}, {args.threads} thread(s), overrides {overrides or 'none'}): "
            f"models trained in {r['trained_s']:.0f} s; generator on target {r['gan_metrics']['target_rate']:.3f}"
            f" (on {r['worker']})"
        )
        print(r["table"].round(3).to_markdown(index=False))
        print(
            f"GANMEX lowest in every row (mean): {r['lowest_every_row']}; "
            f"'different object' pairs with GANMEX L(A) > 1: {r['pairs_above_1']}"
        )
        print(r["directions"].round(3).to_markdown())
    if len(study) > 1:
        print("\n## all seeds")
        print(
            study[["seed", "trained_s", "lowest_every_row", "pairs_above_1", "job_s"]].round(1).to_markdown(index=False)
        )


if __name__ == "__main__":
    main()
