"""``genxai verify [--paper P]``: do the committed results still match the code?

Every notebook's run record (``results/<paper>/run-<notebook>.json``) lists the cached models the run used:
family, cache key, compute tag (``cpu-<threads>`` / ``cuda``), config class, config and the sha256 of every source
file in the key (:meth:`genxai.recorder.RunRecorder.finish`).  For each of them this module rebuilds the config,
recomputes its key under the recorded compute tag with the current code and compares.  A different key means the
current code would train another model, so the committed numbers are stale; the report names the files whose hash
changed (or says that the config fields or the package version did).  Nothing is loaded or trained: checking all
works takes seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths


@dataclass
class ModelCheck:
    """One recorded model: its recorded key, the key the current code gives, and what changed."""

    family: str
    recorded_key: str
    current_key: str | None
    compute: str
    changed: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def stale(self) -> bool:
        return self.problem is not None or self.current_key != self.recorded_key


@dataclass
class RecordCheck:
    """One run record (one notebook's results)."""

    paper: str
    record: Path
    models: list[ModelCheck]
    problem: str | None = None

    @property
    def stale(self) -> bool:
        return self.problem is not None or any(m.stale for m in self.models)


def _diff_code(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    changed = [f"{f} (edited)" for f in sorted(recorded.keys() & current.keys()) if recorded[f] != current[f]]
    changed += [f"{f} (now in the key)" for f in sorted(current.keys() - recorded.keys())]
    changed += [f"{f} (no longer in the key)" for f in sorted(recorded.keys() - current.keys())]
    return changed


def check_model(entry: dict[str, Any]) -> ModelCheck:
    """Recompute the key of one recorded model under its recorded compute tag."""
    from .models import cache

    check = ModelCheck(entry.get("family", "?"), entry.get("key", "?"), None, entry.get("compute", "?"))
    try:
        config = cache.config_from_record(entry)
    except (LookupError, TypeError, ValueError) as err:
        check.problem = f"its config cannot be rebuilt with the current code ({err})"
        return check
    check.current_key = cache.cache_key(config, entry["compute"])
    if check.current_key != check.recorded_key:
        check.changed = _diff_code(entry.get("code", {}), cache.code_hashes(config))
        if not check.changed:
            check.changed = ["the config's fields, the compute tag or the genxai version (no source file changed)"]
    return check


def check_record(paper: str, record: Path) -> RecordCheck:
    data = json.loads(record.read_text())
    if "models" not in data:
        return RecordCheck(paper, record, [], problem="the run record does not list the models it used")
    return RecordCheck(paper, record, [check_model(e) for e in data["models"]])


def run_records(paper: str | None = None, profile: str = paths.DEFAULT_PROFILE) -> dict[str, list[Path]]:
    """{paper: its run-*.json} in the results of ``profile`` (``results/<paper>/`` for the committed cpu ones)."""
    base = paths.results_root() if profile == paths.DEFAULT_PROFILE else paths.results_root() / profile
    found: dict[str, list[Path]] = {}
    for record in sorted(base.glob("*/run-*.json")):
        if not record.parent.name.startswith("."):
            found.setdefault(record.parent.name, []).append(record)
    if paper is not None:
        return {paper: found.get(paper, [])}
    return found


def verify(paper: str | None = None, profile: str = paths.DEFAULT_PROFILE) -> list[RecordCheck]:
    checks = []
    for name, records in run_records(paper, profile).items():
        if not records:
            folder = paths.results_dir(name, profile, create=False)
            checks.append(RecordCheck(name, folder, [], problem=f"no run records (run-*.json) in {folder}"))
        checks += [check_record(name, r) for r in records]
    return checks


def regenerate_command(paper: str, profile: str = paths.DEFAULT_PROFILE) -> str:
    extra = "" if profile == paths.DEFAULT_PROFILE else f" PROFILE={profile}"
    return f"make reproduce PAPER={paper}{extra}"


def report(checks: list[RecordCheck], profile: str = paths.DEFAULT_PROFILE) -> str:
    lines = []
    for paper in sorted({c.paper for c in checks}):
        mine = [c for c in checks if c.paper == paper]
        n_models = sum(len(c.models) for c in mine)
        if not any(c.stale for c in mine):
            lines.append(f"{paper}: current ({len(mine)} run records, {n_models} models)")
            continue
        lines.append(f"{paper}: STALE; regenerate with `{regenerate_command(paper, profile)}`")
        for c in mine:
            if c.problem:
                lines.append(f"  {c.record.name}: {c.problem}")
            for m in c.models:
                if not m.stale:
                    continue
                what = m.problem or f"key {m.recorded_key} -> {m.current_key} under {m.compute}"
                lines.append(f"  {c.record.name}: {m.family} {what}")
                lines += [f"    changed: {f}" for f in m.changed]
    return "\n".join(lines)


def main(paper: str | None = None, profile: str = paths.DEFAULT_PROFILE) -> int:
    """Print the report; 0 when every result is current, 1 when anything is stale or unverifiable."""
    checks = verify(paper, profile)
    if not checks:
        print(f"genxai verify: no run records under {paths.results_root()}")
        return 1
    print(report(checks, profile))
    return 1 if any(c.stale for c in checks) else 0
