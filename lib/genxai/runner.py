"""Notebook execution: run notebooks with papermill, validate parameters, write the manifest.

``genxai reproduce [--paper P] [--profile smoke|cpu|paper] [--workers N] [-p name=value]``
executes ``notebooks/<paper>/*.ipynb`` into ``results/<paper>/`` (other profiles:
``results/<profile>/<paper>/``), writes ``MANIFEST.json`` and prints the paper-vs-ours
summary.  Parameters are validated against every selected notebook's ``parameters`` cell
(papermill's inspection) before anything runs.  Notebooks are discovered, never listed.

A run succeeds or fails whole: each notebook writes into its staging folder (``GENXAI_OUTDIR``, read by
:class:`genxai.recorder.RunRecorder`); only when it succeeded do its files replace the committed ones
(:func:`promote`: ``metrics.json`` merged, paper-vs-ours recomputed from the merged metrics, provenance and
``MANIFEST.json`` updated together).  A failed notebook leaves ``results/`` as it was and is kept, with its
partial outputs, under ``results/.failed/<paper>/<notebook>/`` (:class:`NotebookFailed` says where).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .profiles import check_profile

#: Parameters every notebook must declare in its ``parameters`` cell.
REQUIRED_PARAMETERS = {"profile": "str", "seed": "int", "device": "str"}
#: Per-cell limit; a hung cell fails instead of hanging CI.
CELL_TIMEOUT_S = {"smoke": 600, "cpu": 3600, "paper": 4 * 3600}


class ParameterError(ValueError):
    pass


class NotebookFailed(RuntimeError):
    """A notebook raised; the committed results are untouched and the message names where its run was kept."""


@dataclass(frozen=True)
class Notebook:
    paper: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def output_path(self, profile: str, reference: bool = False) -> Path:
        if reference:
            return paths.reference_dir() / self.paper / self.path.name
        return paths.results_dir(self.paper, profile) / self.path.name


def discover(paper: str | None = None, notebook: str | None = None) -> list[Notebook]:
    """Notebooks under notebooks/<paper>/, optionally only the one whose name is ``notebook``
    (its file stem, e.g. ``02_colour_and_bam``, or an unambiguous prefix such as ``02``)."""
    root = paths.notebooks_dir()
    found = [Notebook(p.parent.name, p) for p in sorted(root.glob("*/*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
    if paper is not None:
        papers = sorted({nb.paper for nb in found})
        found = [nb for nb in found if nb.paper == paper]
        if not found:
            raise ParameterError(f"unknown paper {paper!r}; notebooks exist for: {', '.join(papers)}")
    if notebook is not None:
        if paper is None:
            raise ParameterError("--notebook needs --paper (notebook names repeat across papers)")
        names = [nb.name for nb in found]
        chosen = [nb for nb in found if nb.name == notebook] or [nb for nb in found if nb.name.startswith(notebook)]
        if len(chosen) != 1:
            problem = "unknown" if not chosen else "ambiguous"
            raise ParameterError(
                f"{problem} notebook {notebook!r} for paper {paper!r}; its notebooks: {', '.join(names)}"
            )
        found = chosen
    return found


def inspect_parameters(nb: Notebook) -> dict[str, dict[str, Any]]:
    import papermill as pm

    return pm.inspect_notebook(str(nb.path))


def parse_value(text: str) -> Any:
    """``-p name=value`` values: Python literals (3, 0.5, True, None, [1, 2]) else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def config_overrides(config_cls: type, items: list[str]) -> dict[str, Any]:
    """``--set NAME=VALUE`` items of a study script -> field values of the dataclass ``config_cls``.

    Values are read as by :func:`parse_value` (``true``/``false``/``null`` too); an int given for a float
    field becomes a float and a list for a tuple field a tuple, so ``lambda_sim=3`` names the same
    cached model as ``lambda_sim=3.0``.  Unknown names and nested-config fields raise, listing the valid ones.
    """
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    defaults = {
        n: f.default
        if f.default is not dataclasses.MISSING
        else f.default_factory()
        if f.default_factory is not dataclasses.MISSING
        else None
        for n, f in fields.items()
    }
    settable = sorted(n for n, d in defaults.items() if not dataclasses.is_dataclass(d))
    out = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or name not in settable:
            raise ValueError(f"--set {item!r}: expected NAME=VALUE with NAME one of {settable}")
        value = parse_value({"true": "True", "false": "False", "null": "None"}.get(raw.lower(), raw))
        default = defaults[name]
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        out[name] = value
    return out


def _type_ok(value: Any, type_name: str) -> bool:
    t = type_name.replace(" ", "")
    if value is None:
        return "None" in t or "Optional" in t
    base = {"int": int, "float": (int, float), "bool": bool, "str": str, "list": list, "dict": dict}
    for name, types in base.items():
        if t == name or t.startswith(f"{name}|") or t.endswith(f"|{name}") or t == f"Optional[{name}]":
            if name in ("int", "float") and isinstance(value, bool):
                return False
            return isinstance(value, types)
    return True  # an annotation we do not interpret (e.g. a Literal): papermill passes it through


def validate_parameters(notebooks: Sequence[Notebook], params: dict[str, Any]) -> None:
    """Fail before running anything on unknown or ill-typed parameters."""
    for nb in notebooks:
        declared = inspect_parameters(nb)
        missing = [p for p in REQUIRED_PARAMETERS if p not in declared]
        if missing:
            raise ParameterError(f"{nb.path} lacks required parameters {missing} in its 'parameters' cell")
        for name, value in params.items():
            if name not in declared:
                valid = ", ".join(f"{k}: {v['inferred_type_name']}" for k, v in declared.items())
                raise ParameterError(f"unknown parameter {name!r} for {nb.path.name}; valid parameters: {valid}")
            type_name = declared[name]["inferred_type_name"]
            if not _type_ok(value, type_name):
                raise ParameterError(
                    f"parameter {name!r} of {nb.path.name} must be {type_name}, got {type(value).__name__} {value!r}"
                )


def execute(
    nb: Notebook, profile: str, params: dict[str, Any], reference: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Execute one notebook with papermill into its staging folder; returns a summary (path, seconds, staging).

    Nothing outside the staging folder is written: :func:`promote` moves the files into place afterwards.  On
    failure the staging folder moves to :func:`genxai.paths.failed_dir` and :class:`NotebookFailed` names it.
    """
    import papermill as pm

    stage = paths.staging_dir(nb.paper, nb.name, profile)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    executed = stage / nb.path.name
    parameters = {"profile": profile, **params}
    started = time.time()
    previous = os.environ.get("GENXAI_OUTDIR")
    previous_tqdm = os.environ.get("TQDM_DISABLE")
    os.environ["GENXAI_OUTDIR"] = str(stage)  # inherited by the kernel papermill starts
    # a batch run has no reader for progress bars: frozen bars would only clutter the executed notebook
    os.environ["TQDM_DISABLE"] = "1"
    try:
        pm.execute_notebook(
            str(nb.path),
            str(executed),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=progress,
            cwd=str(nb.path.parent),
            execution_timeout=CELL_TIMEOUT_S[profile],
            start_timeout=120,
            store_widget_state=False,  # widget state is tens of KB per explorer and useless without a kernel
        )
    except Exception as err:
        kept = paths.failed_dir(nb.paper, nb.name, profile)
        shutil.rmtree(kept, ignore_errors=True)
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage, kept)
        raise NotebookFailed(
            f"{nb.paper}/{nb.path.name} failed, so {paths.results_dir(nb.paper, profile, create=False)} "
            f"and its manifest were left as they were; the executed notebook and the run's partial outputs are "
            f"in {kept}\n{err}"
        ) from err
    finally:
        for name, value in (("GENXAI_OUTDIR", previous), ("TQDM_DISABLE", previous_tqdm)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    out = nb.output_path(profile, reference)
    if reference:  # the executed notebook goes to tests/reference/, the recorder's files to results/smoke/
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(executed, out)
    return {
        "notebook": str(nb.path.relative_to(paths.root())),
        "output": str(out),
        "staging": str(stage),
        "seconds": round(time.time() - started, 1),
        "parameters": parameters,
    }


def promote(paper: str, stage: Path, profile: str, manifest: bool = True) -> list[Path]:
    """Replace the committed results of ``paper`` by a successful run's staged files, together.

    ``metrics.json`` is merged (the keys of the paper's other notebooks are kept), ``paper_vs_ours`` is recomputed
    from the merged metrics (when the run wrote one), every file is prepared in the staging folder first and only
    then renamed into place (same file system: each rename is atomic), and the manifest is rewritten right after.
    Returns the files now in place.
    """
    from .recorder import RunRecorder
    from .repro import write_json

    target = paths.results_dir(paper, profile)
    staged_metrics = stage / "metrics.json"
    if staged_metrics.exists():
        committed = target / "metrics.json"
        merged = json.loads(committed.read_text()) if committed.exists() else {}
        merged.update(json.loads(staged_metrics.read_text()))
        write_json(staged_metrics, merged)
        if (stage / "paper_vs_ours.csv").exists():
            RunRecorder(paper, profile, outdir=stage).paper_vs_ours(merged)
    stale = _outputs_no_longer_written(target, stage)
    moved = []
    for f in sorted(p for p in stage.rglob("*") if p.is_file() and not p.name.startswith(".")):
        final = target / f.relative_to(stage)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, final)
        moved.append(final)
    for f in stale:
        f.unlink(missing_ok=True)
    shutil.rmtree(stage, ignore_errors=True)
    if manifest:
        write_manifest(profile, runs_from_results(profile, [paper]))
    return moved


def _outputs_no_longer_written(target: Path, stage: Path) -> list[Path]:
    """Committed files that the previous run of a staged notebook wrote and this run did not, and that no other
    notebook's run record claims: an output the notebook stopped writing (an attribute AttFind no longer finds, a
    renamed figure) would otherwise stay in the results folder beside the new ones, as if this run had made it."""
    staged_records = {p.name: p for p in stage.glob("run-*.json")}
    if not staged_records:
        return []
    new = {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()}
    claimed_elsewhere: set[str] = set()
    previous: set[str] = set()
    for record in target.glob("run-*.json"):
        outputs = set(json.loads(record.read_text()).get("outputs", []))
        if record.name in staged_records:
            previous |= outputs
        else:
            claimed_elsewhere |= outputs
    return [target / rel for rel in sorted(previous - new - claimed_elsewhere) if (target / rel).is_file()]


def manifest_path(profile: str) -> Path:
    root = paths.results_root()
    return root / "MANIFEST.json" if profile == paths.DEFAULT_PROFILE else root / profile / "MANIFEST.json"


def write_manifest(profile: str, runs: Sequence[dict[str, Any]]) -> Path:
    """results/MANIFEST.json: every file of the papers run, with sha256 and its producer."""
    from .repro import git_sha, sha256_file, write_json

    target = manifest_path(profile)
    base = target.parent
    entries: dict[str, Any] = {}
    if target.exists():
        entries = {e["path"]: e for e in json.loads(target.read_text())["files"] if (base / e["path"]).exists()}
    here = git_sha()
    by_paper: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_paper.setdefault(Path(run["notebook"]).parent.name, []).append(run)
    for paper, paper_runs in by_paper.items():
        folder = paths.results_dir(paper, profile)
        for f in sorted(folder.rglob("*")):
            if not f.is_file() or f.name.startswith(".") or ".FAILED." in f.name:
                continue
            rel = f.relative_to(base).as_posix()
            digest = sha256_file(f)
            producer = _producer(f, folder, paper_runs)
            if producer is None:
                if rel in entries and entries[rel]["sha256"] == digest:
                    continue  # written by a notebook not run now (one notebook of a paper rerun): keep its entry
                producer = paper_runs[-1]
            # the commit the producing notebook ran at, from its run record: a manifest rebuilt later
            # (`genxai manifest`) must not stamp older results with the current commit
            sha, dirty = _run_commit(folder, producer) or here
            entries[rel] = {
                "path": rel,
                "sha256": digest,
                "bytes": f.stat().st_size,
                "produced_by": producer["notebook"],
                "parameters": producer["parameters"],
                "git_sha": sha,
                "git_dirty": dirty,
                **({"worker": producer["worker"]} if producer.get("worker") else {}),  # a Dask run (executor)
            }
    write_json(target, {"profile": profile, "files": sorted(entries.values(), key=lambda e: e["path"])})
    return target


def runs_from_results(profile: str, papers: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Reconstruct run records from the executed notebooks already in ``results/`` (their
    papermill metadata), so the manifest can be rebuilt without re-running anything."""
    import nbformat

    runs = []
    for nb in discover():
        if papers and nb.paper not in papers:
            continue
        out = nb.output_path(profile)
        if not out.exists():
            continue
        book = nbformat.read(out, as_version=4)
        meta = book.metadata.get("papermill", {})
        runs.append(
            {
                "notebook": str(nb.path.relative_to(paths.root())),
                "output": str(out),
                "parameters": meta.get("parameters", {}),
                "seconds": meta.get("duration"),
                "worker": book.metadata.get("genxai", {}).get("worker"),
            }
        )
    return runs


def _records(folder: Path, run: dict[str, Any]) -> list[Path]:
    """The run records a notebook's recorder writes beside its results: ``run-<name>.json`` (or ``run.json``)."""
    return [r for r in (folder / f"run-{Path(run['notebook']).stem}.json", folder / "run.json") if r.exists()]


def _producer(f: Path, folder: Path, runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The run that wrote ``f`` (a file under the paper's results ``folder``): the executed notebook itself, the
    notebook whose run record ``f`` is, else of the runs whose record lists ``f`` the one that finished last (files
    that several notebooks write, such as ``metrics.json``, hold the last writer's version); None if none of
    ``runs`` wrote it.  Records sit in ``folder`` and list outputs by their path relative to it, so a file in a
    subfolder is found too."""
    for run in runs:
        if Path(run["output"]).resolve() == f.resolve():
            return run
    for run in runs:
        if f.parent == folder and f.name == f"run-{Path(run['notebook']).stem}.json":
            return run
    rel = f.relative_to(folder).as_posix()
    listed = []
    for order, run in enumerate(runs):
        for record in _records(folder, run):
            data = json.loads(record.read_text())
            if rel in data.get("outputs", []) and (record.name != "run.json" or len(runs) == 1):
                listed.append((data.get("written_at") or "", order, run))
    return max(listed, key=lambda t: t[:2])[2] if listed else None


def _run_commit(folder: Path, run: dict[str, Any]) -> tuple[str | None, bool | None] | None:
    """(git sha, dirty flag) that ``run``'s record names, None without a record."""
    for record in _records(folder, run):
        data = json.loads(record.read_text())
        if "git_sha" in data:
            return data["git_sha"], data.get("git_dirty")
    return None


def summary(papers: Sequence[str], profile: str) -> str:
    """Each work's paper-vs-ours table, then one line per work counting met / missed / not comparable verdicts."""
    import pandas as pd

    from .report import verdict_counts, verdict_line

    lines, counts = [], []
    for paper in papers:
        folder = paths.results_dir(paper, profile, create=False)
        table = folder / "paper_vs_ours.csv"
        if table.exists():
            df = pd.read_csv(table)
            lines.append(
                f"\n== {paper}: paper vs ours ({profile} profile) ==\n" + df.to_string(index=False, max_colwidth=60)
            )
        if (folder / "metrics.json").exists():
            counts.append(verdict_line(paper, verdict_counts(paper, json.loads((folder / "metrics.json").read_text()))))
    if counts:
        lines.append("\n== verdicts ==\n" + "\n".join(counts))
    return "\n".join(lines)


def reproduce(
    paper: str | None = None,
    profile: str = paths.DEFAULT_PROFILE,
    workers: int = 1,
    params: dict[str, Any] | None = None,
    reference: bool = False,
    progress: bool = True,
    notebook: str | None = None,
) -> list[dict[str, Any]]:
    check_profile(profile)
    if reference and profile != "smoke":
        raise ParameterError("--reference records the smoke-profile executions nbval checks: use --profile smoke")
    params = dict(params or {})
    if "profile" in params:
        raise ParameterError("set the profile with --profile, not -p profile=...")
    notebooks = discover(paper, notebook)
    validate_parameters(notebooks, params)
    workers = max(1, min(workers, len(notebooks)))
    # Split the cores between concurrent notebooks; seed_everything reads this.
    os.environ.setdefault("GENXAI_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    if reference:  # references are compared by nbval: no progress bars in their outputs
        os.environ["TQDM_DISABLE"] = "1"
    runs: list[dict[str, Any]] = []
    from tqdm.auto import tqdm

    def finish(run: dict[str, Any]) -> None:
        # reference runs are nbval's smoke executions: their recorder files land in results/smoke/ unlisted
        promote(Path(run["notebook"]).parent.name, Path(run["staging"]), profile, manifest=not reference)
        runs.append(run)
        bar.update()

    bar = tqdm(total=len(notebooks), desc=f"notebooks ({profile})", disable=not progress)
    if workers == 1:
        for nb in notebooks:
            bar.set_postfix_str(f"{nb.paper}/{nb.name}")
            finish(execute(nb, profile, params, reference, progress))
    else:
        failures: list[BaseException] = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(execute, nb, profile, params, reference, False) for nb in notebooks]
            for fut in as_completed(futures):
                try:
                    run = fut.result()
                except NotebookFailed as err:  # the others still finish and are promoted
                    failures.append(err)
                    continue
                finish(run)
        if failures:
            bar.close()
            raise NotebookFailed("\n\n".join(str(err) for err in failures))
    bar.close()
    return runs
