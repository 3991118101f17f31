import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from genxai import recorder, report, repro


def test_seeding_reproduces_numbers():
    repro.seed_everything(5, threads=1)
    a = torch.randn(3), torch.randint(0, 100, (3,))
    repro.seed_everything(5, threads=1)
    b = torch.randn(3), torch.randint(0, 100, (3,))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.get_num_threads() == 1
    with pytest.raises(TypeError):
        repro.seed_everything("5")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    repro.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with repro.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_json_writes_nan_as_null(tmp_path):
    path = repro.write_json(tmp_path / "m.json", {"x": float("nan"), "t": torch.tensor([1.5])})
    assert json.loads(path.read_text()) == {"t": [1.5], "x": None}


def _figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    return fig


def test_savefig_is_byte_stable_and_named(tmp_path):
    p1 = recorder.savefig(_figure(), "fig01_a", tmp_path / "one")
    p2 = recorder.savefig(_figure(), "fig01_a", tmp_path / "two")
    assert p1.name == "fig01_a.png"
    assert repro.sha256_file(p1) == repro.sha256_file(p2)
    with pytest.raises(ValueError, match="bare stem"):
        recorder.savefig(_figure(), "fig01.png", tmp_path)


def test_run_recorder_records_outputs_and_provenance(tmp_genxai):
    rec = recorder.RunRecorder("demo", "smoke", parameters={"seed": 1})
    assert "smoke" in str(rec.outdir)
    rec.savefig(_figure(), "fig02_curve")
    rec.write_metrics({"a": 1})
    rec.write_metrics({"b": 2})
    rec.write_table(pd.DataFrame({"x": [1]}), "table1_x")
    run = json.loads(rec.finish().read_text())
    metrics = json.loads((rec.outdir / "metrics.json").read_text())
    assert metrics["a"] == 1 and metrics["b"] == 2 and metrics["profile"] == "smoke"
    assert set(run["outputs"]) == {"fig02_curve.png", "metrics.json", "table1_x.csv", "table1_x.md"}
    for key in ("git_sha", "packages", "parameters", "device", "torch_threads", "wall_time_s"):
        assert key in run
    assert run["parameters"] == {"seed": 1}
    # the processor: its instruction set decides which kernels (and roundings) trained the models
    assert run["cpu"]["capability"] == torch.backends.cpu.get_cpu_capability() and run["cpu"]["model"]


def test_paper_vs_ours_lookup_and_verdicts(monkeypatch):
    rows = [
        {"quantity": "acc", "paper": 0.9, "source": "Table 1", "ours": "t.acc", "target": {"op": ">=", "value": 0.85}},
        {"quantity": "missing", "paper": 1.0, "source": "Table 2", "ours": "t.nope", "target": None, "no_target": "x"},
    ]
    monkeypatch.setattr(report, "load_paper_values", lambda paper: rows)
    df = report.paper_vs_ours("x", {"t": {"acc": 0.87}})
    assert df.loc[0, "verdict"] == "met" and df.loc[0, "paper"] == 0.9 and df.loc[0, "our target"] == ">= 0.85"
    assert pd.isna(df.loc[1, "ours"]) and df.loc[1, "verdict"] == "not comparable"
    df = report.paper_vs_ours("x", {"t": {"acc": 0.7}})
    assert df.loc[0, "verdict"] == "missed"


def test_missing_paper_values_names_the_file():
    with pytest.raises(FileNotFoundError, match="paper_values"):
        report.load_paper_values("no_such_paper")


def test_tqdm_disable_turns_our_progress_bars_off(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert repro.show_progress(True) and not repro.show_progress(False)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not repro.show_progress(True)


def test_git_dirty_ignores_regenerated_results_but_not_code(tmp_path, monkeypatch):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "lib").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "lib" / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "metrics.json").write_text("{}\n")
    git("add", ".")
    git("commit", "-qm", "init")
    monkeypatch.setenv("GENXAI_ROOT", str(tmp_path))
    sha, dirty = repro.git_sha()
    assert len(sha) == 40 and dirty is False
    (tmp_path / "results" / "metrics.json").write_text('{"acc": 0.9}\n')  # a rerun rewrites results
    assert repro.git_sha()[1] is False
    (tmp_path / "lib" / "code.py").write_text("x = 2\n")  # an uncommitted code change
    assert repro.git_sha()[1] is True


def test_files_written_under_a_recorder_path_are_listed_as_the_runs_outputs(tmp_genxai):
    """An output written without one of the recorder's writers (a folder of study items) is still credited to the
    notebook that wrote it; a path nothing was written to is not listed."""
    rec = recorder.RunRecorder("demo", "smoke")
    folder = rec.path("items")
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_text("{}")
    (folder / "sub" / "b.png").write_bytes(b"png")
    rec.path("report.txt").write_text("done")
    rec.path("never_written.csv")
    run = json.loads(rec.finish().read_text())
    assert {"items/a.json", "items/sub/b.png", "report.txt"} <= set(run["outputs"])
    assert "never_written.csv" not in run["outputs"] and "items" not in run["outputs"]
