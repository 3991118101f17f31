"""A notebook run's outputs: figures, tables, metrics and provenance in one folder.

Every notebook opens with :func:`start`, which reads the work's profile, seeds everything, resolves the device and
returns the :class:`RunRecorder` that writes the run's files (atomically, with provenance beside them).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import paths
from .report import load_paper_values, lookup
from .repro import atomic_path, provenance, resolve_device, seed_everything, write_json, write_text

#: One DPI and no software/date metadata, so the same figure gives the same PNG bytes.
FIGURE_DPI = 110


def savefig(fig, name: str, outdir: str | os.PathLike, close: bool = True) -> Path:
    """Save ``fig`` as ``<outdir>/<name>.png`` atomically, with stable metadata.

    ``name`` follows the paper's numbering, e.g. ``fig04_sampling_comparison``.
    """
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name {name!r} must be a bare stem like 'fig04_sampling_comparison'")
    path = Path(outdir) / f"{name}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=FIGURE_DPI, bbox_inches="tight", metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def in_kernel() -> bool:
    """Whether this code runs inside an IPython kernel (a notebook, interactive or executed by papermill)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(obj: Any) -> None:
    """Display ``obj`` in the notebook running this code; nothing outside a kernel (scripts, tests)."""
    if in_kernel():
        from IPython.display import display

        display(obj)


def markdown_table(df) -> str:
    """``df`` as a Markdown table whose missing cells are blank (a quantity without a published number shows an
    empty paper cell, not "nan"; the CSV beside it leaves them empty too) and whose "|" inside cells are escaped."""
    # a "|" inside a cell (e.g. "|p - 0.5|") would end the cell: Markdown's escape keeps it text
    shown = df.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v)
    shown = shown.astype(object).where(shown.notna(), None)
    return shown.to_markdown(index=False, missingval="")


def show_table(df, decimals: int = 3) -> None:
    """Show a pandas table in the notebook, rounded to ``decimals`` (as HTML, and as text for nbval to compare)."""
    if not in_kernel():
        return
    from IPython.display import display

    shown = df.round(decimals)
    # the row index of our tables is a counter, not data: leave it out of both renderings
    display({"text/plain": shown.to_string(index=False), "text/html": shown.to_html(index=False, border=0)}, raw=True)


class RunRecorder:
    """Collects a notebook run's outputs: figures, metrics and provenance in one folder.

    >>> rec = RunRecorder("ganchors", profile="cpu", parameters={"seed": 0})
    >>> rec.savefig(fig, "fig04_sampling_comparison")
    >>> rec.write_metrics({"table1": {...}})
    >>> rec.finish()          # writes run.json (provenance + list of outputs)
    """

    def __init__(
        self,
        paper: str,
        profile: str = paths.DEFAULT_PROFILE,
        parameters: Mapping[str, Any] | None = None,
        device: Any = None,
        outdir: str | os.PathLike | None = None,
        run_name: str = "run",
    ):
        self.paper = paper
        self.run_name = run_name
        self.profile = profile
        self.parameters = dict(parameters or {})
        self.device = device
        # genxai reproduce names a staging folder whose files replace the committed results only on success;
        # run any other way (JupyterLab), a notebook writes to a scratch folder, never over committed results
        self.outdir = Path(outdir) if outdir else paths.run_outdir() or paths.scratch_dir(paper, profile)
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.outputs: list[str] = []
        self._paths: list[str] = []  # names handed out by path(): listed at finish() with what is under them
        self.started = time.time()

    def path(self, name: str) -> Path:
        """Where to write an output the recorder has no writer for (a file, or a folder of files).  What is under it
        when the run finishes goes into the run record's outputs, so the manifest credits it to this notebook."""
        self._paths.append(name)
        return self.outdir / name

    def _track(self, path: Path) -> Path:
        rel = path.relative_to(self.outdir).as_posix()
        if rel not in self.outputs:
            self.outputs.append(rel)
        return path

    def savefig(self, fig, name: str, close: bool = True, display: bool = True) -> Path:
        """Save ``fig`` as ``<name>.png`` and, in a notebook, show the saved PNG (the file's bytes, so what the
        notebook shows is what the results folder holds)."""
        path = self._track(savefig(fig, name, self.outdir, close=close))
        if display:
            from IPython.display import Image

            show(Image(data=path.read_bytes(), format="png"))
        return path

    def write_json(self, name: str, obj: Any) -> Path:
        return self._track(write_json(self.outdir / name, obj))

    def write_table(
        self, df, name: str, metrics_key: str | None = None, display: bool = True, decimals: int = 3
    ) -> None:
        """Write a pandas table as CSV and Markdown (``<name>.csv``, ``<name>.md``) and show it in a notebook.

        With ``metrics_key`` the table's rows (a list of records) are also written to ``metrics.json`` under that
        key, so a table and its metrics entry come from one call. ``decimals`` only rounds what is shown.  Returns
        nothing: a call that ends a cell shows the table, not a path.
        """
        self._track(write_text(self.outdir / f"{name}.csv", df.to_csv(index=False)))
        self._track(write_text(self.outdir / f"{name}.md", markdown_table(df) + "\n"))
        if metrics_key is not None:
            self.write_metrics({metrics_key: df.to_dict("records")})
        if display:
            show_table(df, decimals)

    def metrics(self) -> dict[str, Any]:
        """What ``metrics.json`` holds so far (every notebook of this work, this profile)."""
        path = self.outdir / "metrics.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def metric(self, dotted: str) -> Any:
        """One value of ``metrics.json`` by dotted path, e.g. ``rec.metric("fig05b.S+R.target_rate")``."""
        value = lookup(self.metrics(), dotted)
        if value is None:
            raise KeyError(f"metrics.json of {self.paper} has no {dotted!r}: write it (rec.write_metrics) first")
        return value

    def paper_value(self, dotted: str) -> Any:
        """The published number of the ``paper_values/<work>.json`` row whose ``ours`` is ``dotted`` (None where
        the row has no published number), so notebooks never type a published number."""
        for row in load_paper_values(self.paper):
            if row["ours"] == dotted:
                return row.get("paper")
        raise KeyError(f"paper_values/{self.paper}.json has no row with ours = {dotted!r}")

    def versus(self, dotted: str, fmt: str = "{:.3f}", ours: Any = None) -> str:
        """``ours`` against the published number and our target of ``dotted``, in words, e.g. "0.974 (paper: 0.99;
        our target >= 0.97: met)".  ``ours`` gives the value before it is written to ``metrics.json``."""
        from .report import describe_target, verdict

        ours = self.metric(dotted) if ours is None else ours
        row = next((r for r in load_paper_values(self.paper) if r["ours"] == dotted), None)
        text = fmt.format(ours)
        if row is None:
            return f"{text} (no paper-vs-ours row)"
        parts = [f"paper: {fmt.format(row['paper'])}" if row.get("paper") is not None else "no published number"]
        if row.get("target"):
            metrics = (
                json.loads((self.outdir / "metrics.json").read_text())
                if (self.outdir / "metrics.json").exists()
                else {}
            )
            _set(metrics, dotted, ours)
            outcome, _ = verdict(row, metrics)
            parts.append(f"our target {describe_target(row['target'])}: {outcome}")
        return f"{text} ({'; '.join(parts)})"

    def explain(self, text: str, **values: Any) -> str:
        """Render "What this shows" Markdown from the run's own numbers and show it under a figure or table.

        ``text`` is a ``str.format`` template filled with ``values``, so text and numbers cannot disagree::

            rec.explain("GANMEX baselines reach the target class in {r:.0%} of cases.", r=rec.metric("..."))
        """
        md = "**What this shows.** " + text.format(**values)
        if in_kernel():
            from IPython.display import Markdown

            show(Markdown(md))
        return md

    def write_metrics(self, metrics: Mapping[str, Any], merge: bool = True) -> Path:
        """Write ``metrics.json``; with ``merge`` keep keys written by other notebooks."""
        path = self.outdir / "metrics.json"
        data: dict[str, Any] = {}
        if merge and path.exists():
            data = json.loads(path.read_text())
        data.update(metrics)
        data["profile"] = self.profile
        return self._track(write_json(path, data))

    def paper_vs_ours(self, metrics: Mapping[str, Any] | None = None):
        """Build, write and return the paper-vs-ours table from ``paper_values/<paper>.json``."""
        from .report import paper_vs_ours

        if metrics is None:
            metrics = json.loads((self.outdir / "metrics.json").read_text())
        table = paper_vs_ours(self.paper, metrics)
        self.write_table(table, "paper_vs_ours")
        measured = table[table["ours"].notna()]  # rows of this notebook (the others are filled in by their own)
        counts = measured["verdict"].value_counts()
        misses = measured[measured["verdict"] == "missed"]
        self.explain(
            "Of the {n} paper-vs-ours rows this notebook measures, {met} meet our target, {missed} miss it and {nc} "
            "cannot be compared (no target, or a paper number from another setting; the reason column says which)."
            "{misses}",
            n=len(measured),
            met=int(counts.get("met", 0)),
            missed=int(counts.get("missed", 0)),
            nc=int(counts.get("not comparable", 0)),
            misses="".join(f"\n- **Missed:** {r['quantity']}: {r['reason']}." for _, r in misses.iterrows()),
        )
        return table

    @staticmethod
    def models() -> list[dict[str, Any]]:
        """Every cached model this process used, with its key and code hashes (``genxai verify`` rechecks them)."""
        from .models import cache

        computes: dict[tuple[str, str], set[str]] = {}
        for entry in cache.USED:
            same = (entry["config_class"], json.dumps(entry["config"], sort_keys=True, default=str))
            computes.setdefault(same, set()).add(entry["compute"])
        mixed = {cls: sorted(tags) for (cls, _), tags in computes.items() if len(tags) > 1}
        if mixed:
            # the thread count is part of a model's key: one config asked for at two counts is two trainings with
            # different weights, and a run that uses both (a direction model trained on one generator, figures
            # drawn by the other) records results that no single model gives
            raise RuntimeError(
                f"this run used the same model config at several compute tags {mixed}: two different trainings of "
                f"one model. Load every model of a family the way it is trained (models trained by "
                f"genxai.models.parallel.get_or_train_many must be taken from what it returns, not reloaded with "
                f"get_or_train at the process's thread count)"
            )
        out = []
        for entry in cache.USED:
            config = cache.config_from_record(entry)
            out.append({**entry, "code": cache.code_hashes(config)})
        return sorted(out, key=lambda e: (e["family"], e["key"]))

    def finish(self) -> Path:
        for name in self._paths:
            target = self.outdir / name
            for f in sorted(target.rglob("*")) if target.is_dir() else [target]:
                if f.is_file():
                    self._track(f)
        record = provenance(self.parameters, self.device, self.started)
        record.update(
            paper=self.paper, profile=self.profile, outputs=sorted(self.outputs), models=self.models(), cpu=cpu_info()
        )
        return write_json(self.outdir / f"{self.run_name}.json", record)


def cpu_info() -> dict[str, str | None]:
    """The processor a run used: its model name (Linux ``/proc/cpuinfo``) and the instruction set torch's CPU
    kernels were picked for (``torch.backends.cpu.get_cpu_capability()``, e.g. ``AVX2``, ``AVX512``).

    Why in the run record: on a CPU the same code, config, seed and thread count give bit-identical models only on
    the same kind of processor; another instruction set picks other kernels, which round differently, and every
    trained weight and measured number moves a little (docs/reproducibility.md)."""
    import platform

    import torch

    model = None
    try:
        model = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            None,
        )
    except OSError:  # not Linux
        pass
    return {"model": model or platform.processor() or None, "capability": torch.backends.cpu.get_cpu_capability()}


class Run(NamedTuple):
    """What :func:`start` returns: the profile's settings, the device and the recorder."""

    P: Any
    device: Any
    rec: RunRecorder


def start(work: str, run_name: str, profile: str, seed: int, device: str, **parameters: Any) -> Run:
    """The opening of every notebook: profile settings, seeding, device, recorder.

    >>> P, dev, rec = start("ganmex", "01_one_vs_one", profile=profile, seed=seed, device=device)

    ``parameters`` are the notebook's other parameters; all of them go into the provenance record.
    """
    from . import profiles

    P = profiles.get(work, profile)
    seed_everything(seed)
    dev = resolve_device(device)
    rec = RunRecorder(
        work,
        profile,
        parameters=dict(profile=profile, seed=seed, device=device, **parameters),
        device=dev,
        run_name=f"run-{run_name}",
    )
    return Run(P, dev, rec)


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """``tree[a][b] = value`` for ``dotted = "a.b"`` (creating the dicts on the way)."""
    *head, last = dotted.split(".")
    for part in head:
        tree = tree.setdefault(part, {})
    tree[last] = value
