"""genxai.executor: seed studies and notebooks on local processes and on a Dask LocalCluster."""

from __future__ import annotations

import json
import os

import pytest

from genxai import cli, executor, paths, runner

PARAMS = 'profile: str = "cpu"  # which profile\nseed: int = 0  # seed\ndevice: str = "cpu"  # device'
# the two fastest smoke notebooks that write metrics, cold and warm (docs/cluster.md); ganchors/02 is faster but
# writes no metrics without the user's CelebA-HQ files
SMOKE = ("gan_xai/03_infogan.ipynb", "trains/02_trains.ipynb")


def _failing_notebook(root, paper, name):
    """A notebook with the required parameters whose only code cell raises."""
    import nbformat  # imported here: the study workers import this module and need not pay for it

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure')")]
    nbformat.write(nb, root / "notebooks" / paper / f"{name}.ipynb")


def _files(folder):
    return {f.relative_to(folder).as_posix(): f.stat().st_size for f in sorted(folder.rglob("*")) if f.is_file()}


@pytest.mark.slow
def test_smoke_notebooks_on_a_2_worker_local_cluster_match_a_local_run(tmp_path, monkeypatch):
    """Two of the project's smoke notebooks, run locally and then as tasks of a 2-worker ``LocalCluster``.

    The comparison is with a local run made here at the same thread count (1), not with the executed references in
    ``tests/reference/``: those carry no ``metrics.json`` (the recorder's files of a reference run go to the
    untracked ``results/smoke/``), and they were executed at whatever thread count their author's machine had, which
    changes every trained model's weights.  Both runs share one temporary model cache, so only the local run trains;
    the cluster run must find every model there.  Since the cache key contains the thread count, a worker running at
    another count would miss and train again, which the unchanged cache rules out.  What the cluster run recomputes
    itself is everything a notebook does with its models (samples, explanations, measures), and its metrics must
    equal the local run's.  A notebook that raises, in the same work as one of them, is kept where a local run keeps
    a failed one and leaves its neighbour's results in place.
    """
    import shutil

    import nbformat

    data = paths.data_dir()  # the fetched data sets of this checkout, read by both runs
    root = tmp_path / "root"  # a checkout holding only the chosen notebooks (and, later, a failing one)
    for rel in SMOKE:
        (root / "notebooks" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(paths.notebooks_dir() / rel, root / "notebooks" / rel)
    cache = tmp_path / "cache"
    for var, value in (("GENXAI_ROOT", root), ("GENXAI_DATA_DIR", data), ("GENXAI_CACHE_DIR", cache)):
        monkeypatch.setenv(var, str(value))
    monkeypatch.setenv("GENXAI_THREADS", "1")

    monkeypatch.setenv("GENXAI_RESULTS_DIR", str(tmp_path / "local"))
    local = tmp_path / "local" / "smoke"
    runner.reproduce(None, "smoke", workers=2, progress=False)  # two processes, one thread each
    trained = _files(cache)
    assert any(name.endswith(".pt") for name in trained), "the local run trained nothing into the shared cache"

    _failing_notebook(root, "gan_xai", "00_fail")  # runs beside 03_infogan, whose results must survive it
    monkeypatch.setenv("GENXAI_RESULTS_DIR", str(tmp_path / "cluster"))
    cluster = tmp_path / "cluster" / "smoke"
    with pytest.raises(executor.NotebookFailures) as failed:
        executor.reproduce_on_cluster("local", None, "smoke", workers=2, progress=False)
    assert _files(cache) == trained, "the cluster run trained again instead of loading the shared cache"

    [failure] = failed.value.failures
    assert failure["notebook"] == "notebooks/gan_xai/00_fail.ipynb" and failure["worker"].startswith("tcp://")
    assert "deliberate failure" in failure["error"] and "Traceback" in failure["error"]
    kept = paths.failed_dir("gan_xai", "00_fail", "smoke")  # the runner's place for a failed run, as locally
    assert failure["kept"] == str(kept) and (kept / "00_fail.ipynb").exists()
    assert str(kept) in failure["error"] and "genxai-notebook-" not in failure["error"]  # client paths, not worker's
    assert not (cluster / "gan_xai" / "00_fail.ipynb").exists()
    assert isinstance(failed.value, runner.NotebookFailed) and str(kept) in str(failed.value)
    assert sorted(r["notebook"] for r in failed.value.runs) == [f"notebooks/{rel}" for rel in SMOKE]

    for rel in SMOKE:  # same metrics as the local run, at the same thread count
        paper, name = rel.split("/")
        ours = json.loads((cluster / paper / "metrics.json").read_text())
        theirs = json.loads((local / paper / "metrics.json").read_text())
        assert set(ours) - {"profile"}, f"{rel} wrote no metrics"
        assert ours == theirs, rel
        book = nbformat.read(cluster / rel, as_version=4)
        assert book.metadata["genxai"]["worker"].startswith("tcp://") and book.metadata["genxai"]["threads"] == 1
        assert not any(n.startswith(".") for n in os.listdir(cluster / paper))  # nothing half-written
        assert set(_files(cluster / paper)) == set(_files(local / paper)), rel  # every figure and table came back

    files = {e["path"]: e for e in json.loads((cluster / "MANIFEST.json").read_text())["files"]}
    local_files = {e["path"]: e for e in json.loads((local / "MANIFEST.json").read_text())["files"]}
    assert set(files) == set(local_files) and not any("00_fail" in path for path in files)
    assert files["gan_xai/metrics.json"]["produced_by"] == "notebooks/gan_xai/03_infogan.ipynb"
    assert files["gan_xai/metrics.json"]["sha256"] == local_files["gan_xai/metrics.json"]["sha256"]
    assert all(e["worker"].startswith("tcp://") for e in files.values())
    assert files["trains/02_trains.ipynb"]["parameters"] == {"profile": "smoke"}
    assert not any("worker" in e for e in local_files.values())


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
