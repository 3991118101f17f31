"""The papermill runner: discovery, parameter validation, execution, manifest."""

import json

import nbformat
import pytest

from genxai import cli
from genxai import runner as run

PARAMS = (
    'profile: str = "cpu"  # which profile\nseed: int = 0  # seed\ndevice: str = "auto"  # device\nn: int = 3  # items'
)


def _notebook(folder, name="01_demo.ipynb", params=PARAMS, body=None):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    body = body or (
        "from genxai import recorder\n"
        "rec = recorder.RunRecorder('demo', profile, parameters=dict(n=n), run_name='run-01_demo')\n"
        "rec.write_metrics({'n': n, 'seed': seed})\nrec.finish()"
    )
    nb.cells = [nbformat.v4.new_markdown_cell("# demo"), cell, nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _second_notebook(project):
    """notebooks/demo/02_more.ipynb: writes its own metric beside 01's, recorded in run-02_more.json."""
    return _notebook(
        project / "notebooks" / "demo",
        "02_more.ipynb",
        body="from genxai import recorder\nrec = recorder.RunRecorder('demo', profile, run_name='run-02_more')\n"
        "rec.write_metrics({'more': n})\nrec.finish()",
    )


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("GENXAI_ROOT", str(tmp_path))
    monkeypatch.setenv("GENXAI_RESULTS_DIR", str(tmp_path / "results"))
    _notebook(tmp_path / "notebooks" / "demo")
    return tmp_path


def test_new_notebooks_are_discovered_without_lists(project):
    assert [nb.paper for nb in run.discover()] == ["demo"]
    _notebook(project / "notebooks" / "other", "01_x.ipynb")
    assert sorted(nb.paper for nb in run.discover()) == ["demo", "other"]
    with pytest.raises(run.ParameterError, match="notebooks exist for: demo, other"):
        run.discover("nope")


def test_one_notebook_of_a_paper_can_be_rerun_alone(project):
    _second_notebook(project)
    run.reproduce("demo", "smoke", progress=False)
    out = project / "results" / "smoke" / "demo"
    first = (out / "01_demo.ipynb").stat().st_mtime_ns
    runs = run.reproduce("demo", "smoke", params={"n": 9}, progress=False, notebook="02")
    assert [r["notebook"] for r in runs] == ["notebooks/demo/02_more.ipynb"]
    assert (out / "01_demo.ipynb").stat().st_mtime_ns == first  # 01 not rerun
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["more"] == 9 and metrics["n"] == 3  # 02's keys updated, 01's kept
    manifest = {
        e["path"]: e for e in json.loads((project / "results" / "smoke" / "MANIFEST.json").read_text())["files"]
    }
    assert manifest["demo/01_demo.ipynb"]["produced_by"] == "notebooks/demo/01_demo.ipynb"
    assert manifest["demo/02_more.ipynb"]["parameters"] == {"profile": "smoke", "n": 9}
    # 01's own files keep 01 as their producer; the shared metrics.json now holds 02's version
    assert manifest["demo/run-01_demo.json"]["produced_by"] == "notebooks/demo/01_demo.ipynb"
    assert manifest["demo/run-01_demo.json"]["parameters"] == {"profile": "smoke"}
    assert manifest["demo/metrics.json"]["produced_by"] == "notebooks/demo/02_more.ipynb"
    with pytest.raises(run.ParameterError, match="unknown notebook '03'.*01_demo, 02_more"):
        run.reproduce("demo", "smoke", notebook="03")
    with pytest.raises(run.ParameterError, match="ambiguous notebook '0'"):
        run.reproduce("demo", "smoke", notebook="0")
    with pytest.raises(run.ParameterError, match="needs --paper"):
        run.reproduce(None, "smoke", notebook="02")


def test_unknown_parameter_lists_the_valid_ones(project):
    with pytest.raises(run.ParameterError) as err:
        run.reproduce("demo", "smoke", params={"n_sampels": 5})
    msg = str(err.value)
    assert "n_sampels" in msg and "n: int" in msg and "seed: int" in msg
    assert not (project / "results" / "smoke").exists()  # nothing ran


def test_ill_typed_parameter_fails_before_running(project):
    with pytest.raises(run.ParameterError, match="must be int"):
        run.reproduce("demo", "smoke", params={"n": "many"})
    with pytest.raises(run.ParameterError, match="must be int"):
        run.reproduce("demo", "smoke", params={"seed": True})
    with pytest.raises(ValueError, match="unknown profile"):
        run.reproduce("demo", "fast")


def test_notebook_without_required_parameters_is_rejected(project):
    _notebook(project / "notebooks" / "demo", "02_bad.ipynb", params="n: int = 1  # items")
    with pytest.raises(run.ParameterError, match="lacks required parameters"):
        run.reproduce("demo", "smoke")


def test_cli_exit_code_and_message(project, capsys):
    assert cli.main(["reproduce", "--paper", "demo", "--profile", "smoke", "-p", "bogus=1"]) == 2
    assert "unknown parameter 'bogus'" in capsys.readouterr().err
    assert cli.main(["list", "--paper", "demo"]) == 0
    assert "n: int = 3  # items" in capsys.readouterr().out


def test_reproduce_executes_and_writes_manifest(project):
    runs = run.reproduce("demo", "smoke", params={"n": 7}, progress=False)
    out = project / "results" / "smoke" / "demo"
    assert json.loads((out / "metrics.json").read_text())["n"] == 7
    executed = nbformat.read(out / "01_demo.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    manifest = json.loads((project / "results" / "smoke" / "MANIFEST.json").read_text())
    files = {e["path"]: e for e in manifest["files"]}
    assert {"demo/metrics.json", "demo/01_demo.ipynb", "demo/run-01_demo.json"} <= set(files)
    assert files["demo/metrics.json"]["produced_by"] == "notebooks/demo/01_demo.ipynb"
    assert files["demo/metrics.json"]["parameters"] == {"profile": "smoke", "n": 7}
    assert len(files["demo/metrics.json"]["sha256"]) == 64
    assert runs[0]["seconds"] >= 0


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_notebook_failing_late_leaves_committed_results_and_manifest_byte_identical(project):
    """Runs succeed or fail whole: a failure after files were written changes nothing committed."""
    run.reproduce("demo", "cpu", params={"n": 1}, progress=False)
    committed = project / "results" / "demo"
    manifest = project / "results" / "MANIFEST.json"
    before, manifest_before = _tree(committed), manifest.read_bytes()
    assert {"metrics.json", "run-01_demo.json", "01_demo.ipynb"} <= set(before)
    late_failure = (
        "from genxai import recorder\n"
        "import matplotlib.pyplot as plt\n"
        "rec = recorder.RunRecorder('demo', profile, parameters=dict(n=n), run_name='run-01_demo')\n"
        "rec.write_metrics({'n': n, 'seed': seed})\n"
        "rec.savefig(plt.figure(), 'fig01_new')\n"
        "rec.write_json('extra.json', {'partial': True})\n"
        "raise RuntimeError('boom at a late cell')"
    )
    _notebook(project / "notebooks" / "demo", body=late_failure)
    with pytest.raises(run.NotebookFailed, match="boom at a late cell") as err:
        run.reproduce("demo", "cpu", params={"n": 2}, progress=False)
    assert _tree(committed) == before and manifest.read_bytes() == manifest_before
    kept = project / "results" / ".failed" / "demo" / "01_demo"
    assert str(kept) in str(err.value)  # the message says where the failed run is
    assert {"01_demo.ipynb", "metrics.json", "fig01_new.png", "extra.json"} <= set(_tree(kept))
    assert json.loads((kept / "metrics.json").read_text())["n"] == 2
    assert not (project / "results" / ".staging" / "demo" / "01_demo").exists()


def test_a_successful_rerun_replaces_files_merges_metrics_and_updates_the_manifest(project):
    _second_notebook(project)
    run.reproduce("demo", "cpu", progress=False)
    run.reproduce("demo", "cpu", params={"n": 5}, progress=False, notebook="01")
    committed = project / "results" / "demo"
    assert json.loads((committed / "metrics.json").read_text()) == {"n": 5, "seed": 0, "more": 3, "profile": "cpu"}
    files = {e["path"]: e for e in json.loads((project / "results" / "MANIFEST.json").read_text())["files"]}
    from genxai.repro import sha256_file

    for rel, entry in files.items():  # every listed file is the one on disk
        assert entry["sha256"] == sha256_file(project / "results" / rel), rel
    assert files["demo/metrics.json"]["sha256"] == sha256_file(committed / "metrics.json")
    assert not any(p.name.startswith(".") for p in committed.rglob("*"))  # no staging leftovers


def test_a_rerun_removes_the_outputs_its_notebook_no_longer_writes_and_keeps_the_others(project):
    # 01 writes one item per value of n under items/ (as StylEx's study items depend on the attributes found);
    # 02 writes a file of its own
    _notebook(
        project / "notebooks" / "demo",
        body="from genxai import recorder\n"
        "rec = recorder.RunRecorder('demo', profile, parameters=dict(n=n), run_name='run-01_demo')\n"
        "for i in range(n):\n    rec.path('items').mkdir(exist_ok=True)\n"
        "    (rec.path('items') / f'item{i}.txt').write_text(str(i))\n"
        "rec.write_metrics({'n': n})\nrec.finish()",
    )
    _notebook(
        project / "notebooks" / "demo",
        "02_more.ipynb",
        body="from genxai import recorder\nrec = recorder.RunRecorder('demo', profile, run_name='run-02_more')\n"
        "rec.write_json('more.json', {'n': n})\nrec.finish()",
    )
    run.reproduce("demo", "cpu", params={"n": 3}, progress=False)
    out = project / "results" / "demo"
    assert sorted(p.name for p in (out / "items").iterdir()) == ["item0.txt", "item1.txt", "item2.txt"]
    run.reproduce("demo", "cpu", params={"n": 1}, progress=False, notebook="01")
    # item1 and item2 came from the previous run of 01: gone; 02's file and the shared metrics stay
    assert sorted(p.name for p in (out / "items").iterdir()) == ["item0.txt"]
    assert (out / "more.json").exists() and (out / "metrics.json").exists()
    files = {e["path"] for e in json.loads((project / "results" / "MANIFEST.json").read_text())["files"]}
    assert "demo/items/item0.txt" in files and "demo/items/item1.txt" not in files


def test_a_notebook_run_outside_reproduce_writes_to_scratch(tmp_genxai, monkeypatch):
    """In JupyterLab (no GENXAI_OUTDIR) a notebook never writes over committed results."""
    from genxai import recorder

    monkeypatch.delenv("GENXAI_OUTDIR", raising=False)
    rec = recorder.RunRecorder("demo", "cpu")
    rec.write_metrics({"a": 1})
    assert rec.outdir == tmp_genxai / "results" / "scratch" / "demo"
    assert not (tmp_genxai / "results" / "demo").exists()
    monkeypatch.setenv("GENXAI_OUTDIR", str(tmp_genxai / "stage"))
    assert recorder.RunRecorder("demo", "cpu").outdir == tmp_genxai / "stage"


def test_manifest_can_be_rebuilt_from_results(project):
    run.reproduce("demo", "smoke", params={"n": 2}, progress=False)
    manifest = project / "results" / "smoke" / "MANIFEST.json"
    before = json.loads(manifest.read_text())
    manifest.unlink()
    assert cli.main(["manifest", "--profile", "smoke"]) == 0
    after = json.loads(manifest.read_text())
    strip = lambda m: {e["path"]: (e["sha256"], e["produced_by"], e["parameters"]) for e in m["files"]}
    assert strip(after) == strip(before)


def test_a_rebuilt_manifest_names_the_commit_each_notebook_ran_at(project):
    _second_notebook(project)
    run.reproduce("demo", "smoke", progress=False)
    out = project / "results" / "smoke" / "demo"
    record = out / "run-01_demo.json"
    older = {**json.loads(record.read_text()), "git_sha": "a" * 40, "git_dirty": False}
    record.write_text(json.dumps(older))  # as if 01 had run at an older commit than 02
    assert cli.main(["manifest", "--profile", "smoke"]) == 0
    files = {e["path"]: e for e in json.loads((project / "results" / "smoke" / "MANIFEST.json").read_text())["files"]}
    for path in ("demo/01_demo.ipynb", "demo/run-01_demo.json"):
        assert (files[path]["git_sha"], files[path]["git_dirty"]) == ("a" * 40, False), path
    current = json.loads((out / "run-02_more.json").read_text())["git_sha"]
    assert files["demo/02_more.ipynb"]["git_sha"] == current != "a" * 40
    assert files["demo/metrics.json"]["produced_by"] == "notebooks/demo/02_more.ipynb"  # its last writer
    record.write_text(json.dumps({**older, "written_at": "2999-01-01T00:00:00+00:00"}))  # 01 rerun after 02
    assert cli.main(["manifest", "--profile", "smoke"]) == 0
    files = {e["path"]: e for e in json.loads((project / "results" / "smoke" / "MANIFEST.json").read_text())["files"]}
    assert files["demo/metrics.json"]["produced_by"] == "notebooks/demo/01_demo.ipynb"
    assert files["demo/metrics.json"]["git_sha"] == "a" * 40


def test_files_in_a_subfolder_get_the_commit_of_the_notebook_that_wrote_them(project):
    _notebook(
        project / "notebooks" / "demo",
        "02_more.ipynb",
        body="from genxai import recorder\nrec = recorder.RunRecorder('demo', profile, run_name='run-02_more')\n"
        "rec.write_json('items/listed.json', {'n': n})\nrec.path('items').joinpath('unlisted.txt').write_text('x')\n"
        "rec.finish()",
    )
    run.reproduce("demo", "smoke", progress=False)
    out = project / "results" / "smoke" / "demo"
    record = out / "run-02_more.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "git_sha": "b" * 40}))  # 02 ran at an older commit
    (project / "results" / "smoke" / "MANIFEST.json").unlink()  # rebuilt from the run records alone
    assert cli.main(["manifest", "--profile", "smoke"]) == 0
    files = {e["path"]: e for e in json.loads((project / "results" / "smoke" / "MANIFEST.json").read_text())["files"]}
    listed, unlisted = files["demo/items/listed.json"], files["demo/items/unlisted.txt"]
    assert listed["produced_by"] == "notebooks/demo/02_more.ipynb" and listed["git_sha"] == "b" * 40
    # a file no record lists is credited to the paper's last run, with that run's commit (not the current one)
    assert unlisted["produced_by"] == "notebooks/demo/02_more.ipynb" and unlisted["git_sha"] == "b" * 40


def test_config_overrides_of_study_scripts_are_typed_like_the_fields():
    """``--set`` values take the field's type, so ``lambda_sim=3`` names the same cached model as 3.0."""
    from genxai.ganmex import GANMEXConfig
    from genxai.models import cache_key

    o = run.config_overrides(
        GANMEXConfig,
        ["lambda_sim=3", "steps=8000", "betas=[0.0, 0.9]", "standalone=true", "adversarial=log", "n_train=null"],
    )
    assert o == {
        "lambda_sim": 3.0,
        "steps": 8000,
        "betas": (0.0, 0.9),
        "standalone": True,
        "adversarial": "log",
        "n_train": None,
    }
    assert isinstance(o["lambda_sim"], float) and isinstance(o["steps"], int)
    assert cache_key(GANMEXConfig(lambda_sim=o["lambda_sim"])) == cache_key(GANMEXConfig(lambda_sim=3.0))
    with pytest.raises(ValueError, match="lambda_sim"):  # the message lists the valid names
        run.config_overrides(GANMEXConfig, ["lambda_simm=3"])
    with pytest.raises(ValueError, match="NAME=VALUE"):  # a nested config is not a --set field
        run.config_overrides(GANMEXConfig, ["classifier=mnist"])
