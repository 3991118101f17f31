"""genxai.executor: seed studies and notebooks on local processes and on a Dask LocalCluster."""

from __future__ import annotations

import json
import os

import pytest

from genxai import cli, executor, paths, runner

PARAMS = 'profile: str = "cpu"  # which profile\nseed: int = {seed}  # seed\ndevice: str = "cpu"  # device'
# trains a small classifier through the model cache and records what it learned
TRAIN = """
import torch
from genxai import recorder, repro
from genxai.models import ClassifierConfig, get_or_train
repro.seed_everything(seed)
model = get_or_train(ClassifierConfig(dataset="digits", epochs=1, width=4, batch_size=64, lr=2e-2, max_shift=0,
                                      max_rotate=0.0, seed=seed), progress=False)
rec = recorder.RunRecorder("{paper}", profile, parameters=dict(seed=seed), run_name="run-{name}")
rec.write_metrics({{"{name}": {{"test_acc": model.metrics["test_acc"], "threads": torch.get_num_threads(),
    "weights_l1": float(sum(p.double().abs().sum() for p in model.model.parameters()))}}}})
rec.finish()
"""


def _notebook(root, paper, name, body, seed=0):
    import nbformat  # imported here: the study workers import this module and need not pay for it

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMS.format(seed=seed))
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {paper}"),
        params,
        nbformat.v4.new_code_cell(body.format(paper=paper, name=name)),
    ]
    (root / "notebooks" / paper).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / "notebooks" / paper / f"{name}.ipynb")


def _use(root, monkeypatch, name):
    """Separate results, data and model cache per run, so the second run trains again."""
    for var, sub in (("GENXAI_RESULTS_DIR", "results"), ("GENXAI_DATA_DIR", "data"), ("GENXAI_CACHE_DIR", "cache")):
        monkeypatch.setenv(var, str(root / name / sub))
    return root / name / "results" / "smoke"


@pytest.mark.slow
def test_notebooks_on_a_2_worker_local_cluster_match_a_local_run(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setenv("GENXAI_ROOT", str(tmp_path))
    monkeypatch.setenv("GENXAI_THREADS", "1")
    _notebook(tmp_path, "alpha", "01_train", TRAIN, seed=0)
    _notebook(tmp_path, "beta", "01_train", TRAIN, seed=1)
    local = _use(tmp_path, monkeypatch, "local")
    runner.reproduce(None, "smoke", progress=False)

    # a failing notebook first in alpha: alpha's next notebook and beta still run
    _notebook(tmp_path, "alpha", "00_fail", "raise RuntimeError('deliberate failure')")
    cluster = _use(tmp_path, monkeypatch, "cluster")
    with pytest.raises(executor.NotebookFailures) as failed:
        executor.reproduce_on_cluster("local", None, "smoke", workers=2, progress=False)
    [failure] = failed.value.failures
    assert failure["notebook"] == "notebooks/alpha/00_fail.ipynb"
    assert "deliberate failure" in failure["error"] and "Traceback" in failure["error"]
    kept = paths.failed_dir("alpha", "00_fail", "smoke")  # the runner's place for a failed run, as locally
    assert failure["kept"] == str(kept) and (kept / "00_fail.ipynb").exists()
    assert str(kept) in failure["error"] and "genxai-notebook-" not in failure["error"]  # client paths, not worker's
    assert not (cluster / "alpha" / "00_fail.ipynb").exists()
    assert isinstance(failed.value, runner.NotebookFailed) and str(kept) in str(failed.value)
    assert sorted(r["notebook"] for r in failed.value.runs) == [
        "notebooks/alpha/01_train.ipynb",
        "notebooks/beta/01_train.ipynb",
    ]

    for paper in ("alpha", "beta"):  # same metrics as the local run, at the same thread count
        ours = json.loads((cluster / paper / "metrics.json").read_text())
        theirs = json.loads((local / paper / "metrics.json").read_text())
        assert ours == theirs and ours["01_train"]["threads"] == 1 and ours["01_train"]["test_acc"] > 0.3
        book = nbformat.read(cluster / paper / "01_train.ipynb", as_version=4)
        assert book.metadata["genxai"]["worker"].startswith("tcp://")
        assert not any(name.startswith(".") for name in os.listdir(cluster / paper))  # nothing half-written
    assert json.loads((cluster / "alpha" / "run-01_train.json").read_text())["outputs"] == ["metrics.json"]

    files = {e["path"]: e for e in json.loads((cluster / "MANIFEST.json").read_text())["files"]}
    assert files["beta/metrics.json"]["produced_by"] == "notebooks/beta/01_train.ipynb"
    assert files["beta/metrics.json"]["worker"].startswith("tcp://")
    assert files["alpha/01_train.ipynb"]["parameters"] == {"profile": "smoke"}
    assert not any("00_fail" in path for path in files)
    # the local run's manifest has the same files, without workers
    local_files = {e["path"]: e for e in json.loads((local / "MANIFEST.json").read_text())["files"]}
    assert set(local_files) == set(files) and "worker" not in local_files["beta/metrics.json"]


def test_reproduce_refuses_references_on_a_cluster(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENXAI_ROOT", str(tmp_path))
    assert cli.main(["reproduce", "--scheduler", "local", "--profile", "smoke", "--reference"]) == 2
    assert "--reference runs locally" in capsys.readouterr().err


def _draw(config, seed):
    import torch

    from genxai import repro

    repro.seed_everything(seed)
    if seed == config.get("fail_seed"):
        raise ValueError(f"seed {seed} is deliberately bad")
    return {
        "draw": float(torch.randn(()) * config["scale"]),
        "torch_threads": torch.get_num_threads(),
        "genxai_threads": os.environ["GENXAI_THREADS"],
        "marker": os.environ.get("STUDY_MARKER"),
    }


def test_map_seeds_gives_one_table_wherever_it_runs(monkeypatch):
    configs = {"small": {"scale": 1.0}, "large": {"scale": 10.0}}
    here = executor.map_seeds(_draw, configs, [0, 1], env={"STUDY_MARKER": "m"})
    assert list(here.columns) == [
        "config",
        "seed",
        "draw",
        "torch_threads",
        "genxai_threads",
        "marker",
        "worker",
        "job_s",
    ]
    assert list(zip(here.config, here.seed)) == [("small", 0), ("small", 1), ("large", 0), ("large", 1)]
    assert here.draw[2] == pytest.approx(10 * here.draw[0]) and here.draw[0] != here.draw[1]
    assert set(here.torch_threads) == {1} and set(here.genxai_threads) == {"1"} and set(here.marker) == {"m"}
    assert "STUDY_MARKER" not in os.environ  # the job's environment is undone

    cols = ["config", "seed", "draw", "torch_threads", "genxai_threads", "marker"]
    for scheduler in (None, "local"):  # 2 local processes, a 2-worker LocalCluster
        there = executor.map_seeds(_draw, configs, [0, 1], scheduler=scheduler, workers=2, env={"STUDY_MARKER": "m"})
        assert there[cols].equals(here[cols]), scheduler
    assert there.worker.str.startswith("tcp://").all()

    with pytest.raises(executor.JobFailed, match="config='small' seed=1 failed: ValueError: seed 1 is deliberately"):
        executor.map_seeds(_draw, {"small": {"scale": 1.0, "fail_seed": 1}}, [0, 1])
    with pytest.raises(ValueError, match="at least one"):
        executor.map_seeds(_draw, {}, [0])


def test_map_seeds_takes_several_rows_per_job_and_rejects_other_results():
    rows = executor.map_seeds(lambda config, seed: [{"step": 1, "v": seed}, {"step": 2, "v": -seed}], [None], [3, 4])
    assert list(rows.config) == ["0"] * 4 and list(rows.seed) == [3, 3, 4, 4] and list(rows.v) == [3, -3, 4, -4]
    with pytest.raises(TypeError, match="returned a float"):
        executor.map_seeds(lambda config, seed: 0.5, [None], [0])
    with pytest.raises(ValueError, match=r"column\(s\) \['seed'\]"):
        executor.map_seeds(lambda config, seed: {"seed": seed}, [None], [0])
