"""``genxai verify``: committed results name the models they used, and a source edit makes them stale."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import genxai
from genxai import cli, recorder
from genxai.models import ClassifierConfig, cache, get_or_train

CONFIG = ClassifierConfig(dataset="digits", epochs=1, width=4, batch_size=64, max_shift=0, max_rotate=0.0)


@pytest.fixture
def results_tree(tmp_path, monkeypatch):
    """A copy of the package as the code the keys hash, a tiny model trained into a private cache and one
    notebook's run record written by RunRecorder.finish(); returns the copy's package folder."""
    lib = tmp_path / "lib" / "genxai"
    shutil.copytree(genxai.__path__[0], lib, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("GENXAI_ROOT", str(tmp_path))
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENXAI_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setattr(cache, "_module_file", lambda name: _in_copy(lib, name))
    monkeypatch.setattr(cache, "USED", [])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    get_or_train(CONFIG, progress=False)
    torch.set_num_threads(threads)
    rec = recorder.RunRecorder("demo", outdir=tmp_path / "results" / "demo", run_name="run-01_demo")
    rec.write_metrics({"acc": 1.0})
    rec.finish()
    return lib


def _in_copy(copy, name):
    rel = name.split(".")[1:]
    package = copy.joinpath(*rel, "__init__.py")
    module = copy.joinpath(*rel[:-1], f"{rel[-1]}.py") if rel else copy / "__init__.py"
    return package if package.exists() else module if module.exists() else None


def test_results_record_their_models_and_verify_finds_them_current(results_tree, capsys):
    record = json.loads((results_tree.parents[1] / "results" / "demo" / "run-01_demo.json").read_text())
    [model] = record["models"]
    assert model["compute"] == "cpu-1" and "genxai/models/classifiers.py" in model["code"]
    assert cli.main(["verify"]) == 0
    assert "demo: current (1 run records, 1 models)" in capsys.readouterr().out


def test_a_source_edit_makes_the_results_stale_naming_the_file(results_tree, capsys):
    with open(results_tree / "models" / "classifiers.py", "a") as fh:
        fh.write("\n# an edit that would retrain the classifier\n")
    assert cli.main(["verify", "--paper", "demo"]) == 1
    out = capsys.readouterr().out
    assert "demo: STALE; regenerate with `make reproduce PAPER=demo`" in out
    assert "changed: genxai/models/classifiers.py (edited)" in out
    assert "genxai/train.py" not in out  # only the file that changed is named


def test_another_thread_count_is_not_the_recorded_model(results_tree):
    from genxai import verify

    record = results_tree.parents[1] / "results" / "demo" / "run-01_demo.json"
    data = json.loads(record.read_text())
    data["models"][0]["compute"] = "cpu-2"  # same code and config, recorded under another thread count
    record.write_text(json.dumps(data))
    [check] = verify.verify("demo")
    assert check.stale and check.models[0].changed == [
        "the config's fields, the compute tag or the genxai version (no source file changed)"
    ]


def test_a_run_record_without_models_is_refused(results_tree, capsys):
    record = results_tree.parents[1] / "results" / "demo" / "run-01_demo.json"
    data = json.loads(record.read_text())
    del data["models"]
    record.write_text(json.dumps(data))
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "make reproduce PAPER=demo" in out and "does not list the models" in out


def test_a_run_that_used_one_config_at_two_thread_counts_is_refused(tmp_path, monkeypatch):
    """Two trainings of one config (the thread count is part of the key) must not feed one run's results."""
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "USED", [])
    threads = torch.get_num_threads()
    try:
        get_or_train(CONFIG, progress=False, threads=1)
        rec = recorder.RunRecorder("demo", outdir=tmp_path / "results", run_name="run-01_demo")
        assert [m["compute"] for m in rec.models()] == ["cpu-1"]  # one training: recorded
        torch.set_num_threads(2)
        get_or_train(CONFIG, progress=False, threads=2)
    finally:
        torch.set_num_threads(threads)
    with pytest.raises(
        RuntimeError, match=r"same model config at several compute tags .*cpu-1', 'cpu-2'.*get_or_train_many"
    ):
        rec.finish()
    assert not (tmp_path / "results" / "run-01_demo.json").exists()  # nothing written


def test_committed_results_use_each_model_config_at_one_thread_count():
    """Every committed run record names one training per config, across the notebooks of a work."""
    from genxai import paths

    for work in sorted(p for p in paths.results_root().iterdir() if p.is_dir()):
        tags: dict[str, set[str]] = {}
        for record in work.glob("run-*.json"):
            for m in json.loads(record.read_text()).get("models", []):
                same = m["config_class"] + json.dumps(m["config"], sort_keys=True)
                tags.setdefault(same, set()).add(m["compute"])
        mixed = [t for t in tags.values() if len(t) > 1]
        assert not mixed, f"{work.name}: one config trained at several thread counts {mixed}"
