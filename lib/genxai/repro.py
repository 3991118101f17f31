"""Reproducibility helpers: seeding, devices, provenance records and atomic writes.

What a notebook writes into ``results/`` goes through :mod:`genxai.recorder`, which builds on these.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import paths

#: Packages whose versions go into every provenance record.
TRACKED_PACKAGES = (
    "genxai",
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "captum",
    "torchmetrics",
    "matplotlib",
    "pandas",
    "papermill",
    "nbval",
)


# --------------------------------------------------------------------------- seeding
def default_threads() -> int:
    """``GENXAI_THREADS`` (set by the runner to cores / workers), else all cores."""
    return max(1, int(os.environ.get("GENXAI_THREADS", os.cpu_count() or 1)))


def seed_everything(seed: int, threads: int | None | str = "auto", deterministic: bool = True) -> int:
    """Seed python, numpy and torch (CPU and CUDA) and fix the CPU thread count.

    A fixed thread count matters on CPU: reductions are split across threads, so the
    same seed gives bit-identical results only with the same number of threads (the
    count is recorded in every provenance record).  ``threads="auto"``: see
    :func:`default_threads`; ``None`` leaves it unchanged.
    """
    if threads == "auto":
        threads = default_threads()
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return seed


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda[:N]'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for but CUDA is not available: use device='cpu'")
    return dev


def show_progress(progress: bool = True) -> bool:
    """Whether to draw progress bars: ``progress`` unless ``TQDM_DISABLE`` is set.

    Our bars pass ``disable=`` explicitly, which overrides tqdm's own reading of that
    variable; tests and nbval references set it, so no bar lands in a compared output.
    """
    return progress and os.environ.get("TQDM_DISABLE", "").lower() in ("", "0", "false")


# --------------------------------------------------------------------------- provenance
def git_sha(short: bool = False) -> tuple[str | None, bool | None]:
    """(commit sha, dirty flag) of the repository, or (None, None) outside a checkout.

    Dirty means tracked files outside ``results/`` differ from the commit."""
    try:
        root = paths.root()
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        # results/ is excluded: a run rewrites the committed results it regenerates before it writes
        # its provenance, so counting them would mark every rerun dirty; the flag is about the code.
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return (sha[:12] if short else sha), bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(
    parameters: Mapping[str, Any] | None = None, device: Any = None, started: float | None = None
) -> dict[str, Any]:
    """A record of what produced a result: code, versions, parameters, machine, time."""
    sha, dirty = git_sha()
    now = time.time()
    record = {
        "git_sha": sha,
        "git_dirty": dirty,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "parameters": dict(parameters or {}),
        "device": str(device) if device is not None else None,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "written_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if started is not None:
        record["wall_time_s"] = round(now - started, 2)
    return record


# --------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp creates 0600; results and checkpoints get the usual umask-based mode
            tmp_path.chmod(0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null so every reader can parse the file."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    path = Path(path)
    text = json.dumps(_finite(json.loads(json.dumps(obj, default=_json_default))), indent=2, sort_keys=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
