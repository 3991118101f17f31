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
        self.outdir = Path(outdir) if outdir else paths.results_dir(paper, profile)
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.outputs: list[str] = []
        self.started = time.time()

    def path(self, name: str) -> Path:
        return self.outdir / name

    def _track(self, path: Path) -> Path:
        rel = path.relative_to(self.outdir).as_posix()
        if rel not in self.outputs:
            self.outputs.append(rel)
        return path

    def savefig(self, fig, name: str, close: bool = True) -> Path:
        return self._track(savefig(fig, name, self.outdir, close=close))

    def write_json(self, name: str, obj: Any) -> Path:
        return self._track(write_json(self.outdir / name, obj))

    def write_table(self, df, name: str) -> Path:
        """Write a pandas table as CSV and Markdown (``<name>.csv``, ``<name>.md``)."""
        self._track(write_text(self.outdir / f"{name}.csv", df.to_csv(index=False)))
        return self._track(write_text(self.outdir / f"{name}.md", df.to_markdown(index=False) + "\n"))

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
        return table

    @staticmethod
    def models() -> list[dict[str, Any]]:
        """Every cached model this process used, with its key and code hashes (``genxai verify`` rechecks them)."""
        from .models import cache

        out = []
        for entry in cache.USED:
            config = cache.config_from_record(entry)
            out.append({**entry, "code": cache.code_hashes(config)})
        return sorted(out, key=lambda e: (e["family"], e["key"]))

    def finish(self) -> Path:
        record = provenance(self.parameters, self.device, self.started)
        record.update(paper=self.paper, profile=self.profile, outputs=sorted(self.outputs), models=self.models())
        return write_json(self.outdir / f"{self.run_name}.json", record)


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
