"""Cold run time of one work's notebooks, against the work's time budget.

What "cold" means here: `make reproduce` runs the foundation notebook first, which trains the standard classifiers
and the independent judges that the works share; a work's budget is the wall time of its own notebooks after that,
with every model of its own trained in the run.  This script copies the foundation's models (the keys its committed
run record names) from the model cache into a fresh temporary cache, runs `genxai reproduce --paper <work>` there
(results land in results/<work>/, as with `make reproduce`) and prints the wall time beside the budget.

Run on an otherwise idle machine (other jobs on the same cores lengthen every training):

    .venv/bin/python benchmarks/cold_run.py gan_xai [--profile cpu]

Results of the measured runs: docs/reproducibility.md ("Cold run times").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genxai import paths

#: Minutes on 2 CPU cores for `make reproduce PAPER=<work>` cold, cpu profile (the realism issue's budgets; stylex's
#: from its own issue).
BUDGET_MIN = {"ganchors": 30, "ganmex": 25, "trains": 20, "gan_xai": 20, "stylex": 40}


def foundation_models(profile: str) -> list[tuple[str, str]]:
    """(family, key) of every model the foundation's committed run records name."""
    folder = paths.results_dir("foundation", profile, create=False)
    records = sorted(folder.glob("run-*.json"))
    if not records:
        raise SystemExit(
            f"no foundation run record for profile {profile!r} under {folder}: "
            f"run `make reproduce PAPER=foundation PROFILE={profile}` first (its models are the shared ones a cold "
            f"work run starts from)"
        )
    return sorted({(m["family"], m["key"]) for r in records for m in json.loads(r.read_text())["models"]})


def seed_cache(target: Path, models: list[tuple[str, str]]) -> None:
    """Copy the foundation's cached models into ``target`` (a model cache folder)."""
    source = paths.cache_dir("models")
    for family, key in models:
        files = [source / family / f"{key}.pt", source / family / f"{key}.json"]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise SystemExit(
                f"the foundation's model {family}/{key} is not cached ({missing[0]}): run "
                f"`make reproduce PAPER=foundation` first"
            )
        (target / "models" / family).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(f, target / "models" / family / f.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paper", help="the work to run cold, e.g. gan_xai")
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args(argv)
    if args.paper == "foundation":
        raise SystemExit("the foundation is what the others start from: time it with an empty GENXAI_CACHE_DIR")
    models = foundation_models(args.profile)
    with tempfile.TemporaryDirectory(prefix=f"genxai-cold-{args.paper}-") as tmp:
        seed_cache(Path(tmp), models)
        env = {**os.environ, "GENXAI_CACHE_DIR": tmp}
        cmd = [sys.executable, "-m", "genxai.cli", "reproduce", "--paper", args.paper, "--profile", args.profile]
        start = time.perf_counter()
        rc = subprocess.run(cmd, env=env).returncode
        minutes = (time.perf_counter() - start) / 60
    budget = BUDGET_MIN.get(args.paper) if args.profile == "cpu" else None
    verdict = "no budget" if budget is None else ("met" if minutes <= budget else "missed")
    print(
        json.dumps(
            {
                "paper": args.paper,
                "profile": args.profile,
                "cold_min": round(minutes, 1),
                "budget_min": budget,
                "verdict": verdict,
                "exit_code": rc,
                "cpus": os.cpu_count(),
            }
        )
    )
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
