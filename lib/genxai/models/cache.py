"""``get_or_train(config)``: trained models cached under a hash of config and code.

A config is a dataclass deriving from :class:`ModelConfig`; it knows how to ``build()``
its module and how to ``fit()`` it.  The cache key is the sha256 of

* the config's fields (canonical JSON) and its family name,
* the genxai version and the *source text* of the files that define the model and its
  training (``code_files()``), so editing an architecture or a loss retrains instead of
  silently loading a stale checkpoint.

Layout: ``<cache>/models/<family>/<key>.pt`` (state_dict only, loaded with
``weights_only=True``), ``<key>.json`` (config, metrics, history, provenance) and, while
training, ``<key>.partial.pt`` (resumable state; a killed run continues from it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .. import __version__, paths
from ..repro import atomic_path, provenance, resolve_device, seed_everything, write_json
from .lock import KeyLock


@dataclass
class ModelConfig:
    """Base of every trainable config.  Subclasses are dataclasses with commented fields."""

    family: ClassVar[str] = "model"

    def build(self) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define build()")

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device,
            progress: bool = True) -> dict[str, Any]:  # pragma: no cover - abstract
        """Train ``model`` in place (resuming from ``checkpoint``); return final metrics and history."""
        raise NotImplementedError(f"{type(self).__name__} must define fit()")

    def code_files(self) -> list[Path]:
        """Source files whose text is part of the cache key."""
        from .. import train
        files = {Path(inspect.getfile(type(self))), Path(inspect.getfile(train))}
        for klass in type(self).__mro__:
            if klass.__module__.startswith("genxai") and klass is not ModelConfig:
                files.add(Path(inspect.getfile(klass)))
        return sorted(files)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def cache_key(config: ModelConfig) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"family": config.family, "config": config.to_dict(),
                         "genxai": __version__}, sort_keys=True, default=str).encode())
    for path in config.code_files():
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class CachedModel:
    model: nn.Module
    record: dict[str, Any]
    path: Path

    @property
    def metrics(self) -> dict[str, Any]:
        return self.record.get("metrics", {})


def cache_paths(config: ModelConfig) -> tuple[Path, Path, Path]:
    folder = paths.cache_dir("models") / config.family
    key = cache_key(config)
    return folder / f"{key}.pt", folder / f"{key}.json", folder / f"{key}.partial.pt"


def is_cached(config: ModelConfig) -> bool:
    weights, sidecar, _ = cache_paths(config)
    return weights.exists() and sidecar.exists()


def get_or_train(config: ModelConfig, device: str | torch.device = "cpu", progress: bool = True,
                 retrain: bool = False) -> CachedModel:
    """Return the trained model for ``config``: from the cache, else trained (and cached).

    Training is seeded with ``config.seed`` (when the config has one); the caller's random
    state is restored afterwards, so a notebook behaves the same whether or not the model
    was already cached.

    Safe for many processes sharing the cache (see :mod:`.lock`): one trains a key while the
    others wait on ``<key>.lock`` and then load its checkpoint; a killed trainer's lock is
    taken over and its ``.partial.pt`` resumed.
    """
    weights, sidecar, _ = cache_paths(config)
    if not retrain and weights.exists() and sidecar.exists():
        return _get_or_train(config, device, progress)
    with KeyLock(weights.with_suffix(".lock"), what=f"{config.family}/{weights.stem}") as lock:
        if lock.took_over:  # temporary files of the killed holder's atomic writes
            for leftover in weights.parent.glob(f".{weights.stem}.*.tmp"):
                leftover.unlink(missing_ok=True)
        # after a wait the model is cached by the holder we waited for, and is loaded here
        return _get_or_train(config, device, progress, retrain)


def _get_or_train(config: ModelConfig, device: str | torch.device = "cpu", progress: bool = True,
                  retrain: bool = False) -> CachedModel:
    device = resolve_device(device) if isinstance(device, str) else device
    weights, sidecar, partial = cache_paths(config)
    model = config.build()
    if not retrain and weights.exists() and sidecar.exists():
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        return CachedModel(model.to(device).eval(), json.loads(sidecar.read_text()), weights)

    saved = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    threads = torch.get_num_threads()
    started = time.time()
    try:
        seed_everything(int(getattr(config, "seed", 0)), threads=None)
        model = config.build().to(device)
        weights.parent.mkdir(parents=True, exist_ok=True)
        result = config.fit(model, partial, device, progress=progress)
    finally:
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])
        torch.set_num_threads(threads)
    model.eval()
    with atomic_path(weights) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    record = {
        "family": config.family, "key": weights.stem, "config": config.to_dict(),
        "config_class": f"{type(config).__module__}.{type(config).__qualname__}",
        "metrics": result.get("metrics", {}), "history": result.get("history", []),
        "provenance": provenance(config.to_dict(), device, started),
    }
    write_json(sidecar, record)
    partial.unlink(missing_ok=True)
    return CachedModel(model, record, weights)


def load_cached(config: ModelConfig, device: str | torch.device = "cpu") -> CachedModel:
    """Like :func:`get_or_train` but never trains: raises if the model is not cached."""
    if not is_cached(config):
        weights, _, _ = cache_paths(config)
        raise FileNotFoundError(f"no cached model for {config} (looked for {weights}); "
                                f"train it with genxai.models.get_or_train(config)")
    return get_or_train(config, device=device)


