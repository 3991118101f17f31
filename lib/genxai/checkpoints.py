"""Checkpoint files: deterministic bytes, atomic writes, and quarantine for files that cannot be read.

Shared by the model cache (final weights) and the trainer (resumable ``.partial.pt`` states).  Not part of any
cache key: it decides how checkpoints are stored, not what is trained.
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from . import paths
from .repro import atomic_path


class CorruptCheckpointError(RuntimeError):
    """A checkpoint could not be read; it has been moved to the quarantine folder named in the message."""


def quarantine(path: Path, error: BaseException) -> Path:
    """Move an unreadable cache file to ``<cache>/quarantine/`` and say so; returns its new place."""
    target = paths.cache_dir("quarantine") / f"{path.parent.name}-{path.name}.{int(time.time())}"
    target.parent.mkdir(parents=True, exist_ok=True)
    path.replace(target)
    warnings.warn(
        f"cache file {path} could not be read ({type(error).__name__}: {error}); moved it to {target} "
        "and training the model again",
        stacklevel=3,
    )
    return target


def save_state(obj: Any, path: Path) -> None:
    """``torch.save`` with bytes that depend on the tensors alone, written atomically.

    Saving to a file name stores that name inside the zip archive; the temporary name of an atomic write would
    then make identical weights give different files.  Through a buffer the archive is always named "archive".
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_state(path: Path) -> Any:
    """``torch.load(weights_only=True)``; an unreadable file is quarantined, then :class:`CorruptCheckpointError`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated zip raises RuntimeError, OSError or EOFError depending on where it ends
        moved = quarantine(path, err)
        raise CorruptCheckpointError(f"{path} is unreadable ({err}); moved to {moved}") from err
