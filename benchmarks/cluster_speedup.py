"""Wall time of a small seed study on 1 vs 2 workers (one-thread jobs): what genxai.executor buys.

The study trains one small 8x8-digits classifier per seed through the model cache (a temporary cache per
run, so both runs train everything) with :func:`genxai.executor.map_seeds`, once on one worker and once on
two, and prints both wall times, their ratio and whether the two tables agree.  Local processes by default
(one worker: the jobs run in this process, as the study scripts do without ``--workers``); ``--scheduler
local`` compares Dask LocalClusters of 1 and 2 workers instead.  The time of the 2-worker run includes
starting its processes.

    python benchmarks/cluster_speedup.py                     # 6 seeds, local processes
    python benchmarks/cluster_speedup.py --scheduler local   # Dask LocalCluster
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from genxai.executor import map_seeds

#: A classifier job of about 5-10 s on one thread (long enough that starting the workers is a small part).
STUDY = {
    "dataset": "digits",
    "epochs": 20,
    "width": 16,
    "batch_size": 32,
    "lr": 5e-3,
    "max_shift": 0,
    "max_rotate": 0.0,
}


def train_seed(config: dict, seed: int) -> dict:
    from genxai.models import ClassifierConfig, get_or_train

    model = get_or_train(ClassifierConfig(**config, seed=seed), progress=False)
    return {"test_acc": model.metrics["test_acc"]}


def timed(workers: int, seeds: list[int], scheduler: str | None):
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        table = map_seeds(
            train_seed,
            {"digits": STUDY},
            seeds,
            scheduler=scheduler,
            workers=workers,
            threads=1,
            env={"GENXAI_CACHE_DIR": cache},
        )
        return time.perf_counter() - started, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=6, help="number of seeds (jobs)")
    ap.add_argument("--scheduler", help="'local' for Dask LocalClusters (default: local processes)")
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    # on a shared machine the other processes' load decides what a second worker can get
    load = [os.getloadavg()[0]]
    one, t1 = timed(1, seeds, args.scheduler)
    load.append(os.getloadavg()[0])
    two, t2 = timed(2, seeds, args.scheduler)
    load.append(os.getloadavg()[0])
    where = "Dask LocalCluster" if args.scheduler else "local processes"
    print(
        f"{os.cpu_count()} cores; 1-minute load average before, between and after: "
        + ", ".join(f"{v:.1f}" for v in load)
    )
    print(
        f"{len(seeds)} one-thread jobs on {where}: mean job {t1.job_s.mean():.1f} s on 1 worker, "
        f"{t2.job_s.mean():.1f} s on 2"
    )
    print(f"1 worker: {one:.1f} s; 2 workers: {two:.1f} s; speed-up {one / two:.2f}x")
    print(
        f"same results on 1 and 2 workers: {t1.test_acc.tolist() == t2.test_acc.tolist()}; "
        f"workers used: {sorted(set(t2.worker))}"
    )


if __name__ == "__main__":
    main()
