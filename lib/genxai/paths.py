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
==================  ======================  =========================================
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
