"""``benchmarks/cold_run.py``: a cold work run starts from the foundation's models and nothing else."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from genxai import paths


def _load():
    path = Path(__file__).parents[1] / "benchmarks" / "cold_run.py"
    spec = importlib.util.spec_from_file_location("cold_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(tmp_genxai, models):
    folder = paths.results_dir("foundation")
    (folder / "run-01_data_and_classifiers.json").write_text(json.dumps({"models": models}))


def _cache(family, key):
    folder = paths.cache_dir("models") / family
    folder.mkdir(parents=True, exist_ok=True)
    for ext in (".pt", ".json"):
        (folder / f"{key}{ext}").write_text(f"{family}/{key}{ext}")


def test_the_fresh_cache_holds_exactly_the_foundations_models(tmp_genxai, tmp_path):
    cold_run = _load()
    _record(tmp_genxai, [{"family": "judge", "key": "aaa"}, {"family": "classifier", "key": "bbb"}])
    for family, key in [("judge", "aaa"), ("classifier", "bbb"), ("trains_vae", "ccc")]:  # ccc: a work's own model
        _cache(family, key)
    models = cold_run.foundation_models("cpu")
    assert models == [("classifier", "bbb"), ("judge", "aaa")]
    target = tmp_path / "fresh"
    cold_run.seed_cache(target, models)
    copied = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert copied == [
        "models/classifier/bbb.json",
        "models/classifier/bbb.pt",
        "models/judge/aaa.json",
        "models/judge/aaa.pt",
    ]
    assert (target / "models/judge/aaa.pt").read_text() == "judge/aaa.pt"


def test_a_missing_foundation_model_or_record_names_the_fix(tmp_genxai, tmp_path):
    cold_run = _load()
    with pytest.raises(SystemExit, match="make reproduce PAPER=foundation PROFILE=cpu"):
        cold_run.foundation_models("cpu")
    _record(tmp_genxai, [{"family": "judge", "key": "aaa"}])
    with pytest.raises(SystemExit, match=r"judge/aaa is not cached .*make reproduce PAPER=foundation"):
        cold_run.seed_cache(tmp_path / "fresh", cold_run.foundation_models("cpu"))
    with pytest.raises(SystemExit, match="what the others start from"):
        cold_run.main(["foundation"])
