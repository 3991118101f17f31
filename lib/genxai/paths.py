"""The one place that knows where things live.

Every path is computed at call time from environment variables (so tests and users can
redirect them) with defaults inside the repository:

==================  ======================  =========================================
variable            default                 holds
==================  ======================  =========================================
GENXAI_ROOT         the repository root     notebooks/, data/, results/
GENXAI_DATA_DIR     <root>/data             raw downloads (``raw/``) and caches
GENXAI_CACHE_DIR    <data>/cache            trained checkpoints keyed by config hash
GENXAI_RESULTS_DIR  <root>/results          figures, tables, metrics, executed notebooks
GENXAI_OUTDIR       (unset)                 set by ``genxai reproduce``: the staging folder of
                                            the notebook it runs (:func:`run_outdir`)
==================  ======================  =========================================

A notebook run by ``genxai reproduce`` writes into a staging folder (``results/.staging/``) whose files replace
the committed ones only when the notebook succeeded; a failed run is kept in ``results/.failed/``.  A notebook run
any other way (JupyterLab) writes to ``results/scratch/<paper>/``.  All three are ignored by git.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]

#: Profiles whose results are committed under ``results/<paper>/``; any other profile
#: writes to ``results/<profile>/<paper>/`` so a smoke run never overwrites real results.
DEFAULT_PROFILE = "cpu"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def root() -> Path:
    return _env_path("GENXAI_ROOT", _PACKAGE_ROOT)


def data_dir() -> Path:
    return _env_path("GENXAI_DATA_DIR", root() / "data")


def raw_dir(source: str | None = None) -> Path:
    base = data_dir() / "raw"
    return base / source if source else base


def cache_dir(kind: str | None = None) -> Path:
    base = _env_path("GENXAI_CACHE_DIR", data_dir() / "cache")
    return base / kind if kind else base


def results_root() -> Path:
    return _env_path("GENXAI_RESULTS_DIR", root() / "results")


def results_dir(paper: str, profile: str = DEFAULT_PROFILE, create: bool = True) -> Path:
    """``results/<paper>/`` for the default profile, ``results/<profile>/<paper>/`` otherwise."""
    base = results_root()
    path = base / paper if profile == DEFAULT_PROFILE else base / profile / paper
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def notebooks_dir() -> Path:
    return root() / "notebooks"


def course_dir() -> Path:
    """Course exercises: sources in ``source/<work>/``, generated assignments in ``build/`` (not committed)."""
    return root() / "course"


def reference_dir() -> Path:
    """Committed smoke-profile executions of every notebook, checked by nbval."""
    return root() / "tests" / "reference"


def _profile_root(profile: str) -> Path:
    base = results_root()
    return base if profile == DEFAULT_PROFILE else base / profile


def staging_dir(paper: str, notebook: str, profile: str = DEFAULT_PROFILE) -> Path:
    """Where ``genxai reproduce`` runs ``notebook`` before its files replace the committed ones."""
    return _profile_root(profile) / ".staging" / paper / notebook


def failed_dir(paper: str, notebook: str, profile: str = DEFAULT_PROFILE) -> Path:
    """Where a failed run's executed notebook and partial outputs are kept (the committed results stay as they were)."""
    return _profile_root(profile) / ".failed" / paper / notebook


def scratch_dir(paper: str, profile: str = DEFAULT_PROFILE) -> Path:
    """Outputs of a notebook run outside ``genxai reproduce`` (e.g. in JupyterLab): never the committed results."""
    base = results_root() / "scratch"
    return base / paper if profile == DEFAULT_PROFILE else base / profile / paper


def run_outdir() -> Path | None:
    """The output folder ``genxai reproduce`` chose for the notebook being run (``GENXAI_OUTDIR``), else None."""
    value = os.environ.get("GENXAI_OUTDIR")
    return Path(value).expanduser().resolve() if value else None
