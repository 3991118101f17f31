"""``get_or_train(config)``: trained models cached under a hash of config, code and thread count.

A config is a dataclass deriving from :class:`ModelConfig`; it knows how to ``build()`` its module and how to
``fit()`` it.  The cache key is the sha256 of

* the config's fields (canonical JSON), its family name and the genxai version;
* the *source text* of every genxai module the config's module imports, directly or through other genxai modules
  (static imports, function-level ones included; :func:`code_closure`), plus the data loader module of every
  ``dataset`` the config names, so editing an architecture, a loss, a training loop or a data loader retrains
  instead of silently loading a stale checkpoint.  Nobody keeps a list of files by hand;
* where the model is trained: ``cpu-<threads>`` or ``cuda``.  On a CPU the thread count changes how reductions
  are split, so the same seed gives other weights with another count; a model is therefore only reused under the
  thread count that made it (``get_or_train(..., threads=N)`` asks for another count explicitly).

Layout: ``<cache>/models/<family>/<key>.pt`` (state_dict only, loaded with ``weights_only=True``), ``<key>.json``
(config, metrics, history, provenance, the code files and their hashes) and, while training, ``<key>.partial.pt``
(resumable state; a killed run continues from it).  A checkpoint that fails to load is moved to
``<cache>/quarantine/`` with a message naming it, and retrained.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import time
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from .. import __version__, paths
from ..checkpoints import CorruptCheckpointError, load_state, quarantine, save_state
from ..repro import provenance, resolve_device, write_json
from .lock import KeyLock

#: Modules whose source is not part of any key: they decide where checkpoints are stored and where raw data files
#: come from (their content is pinned by sha256 in ``data.fetch``), not what is trained.  Seeding and the call of
#: ``fit`` live in :mod:`genxai.train`, which every key covers.
NOT_IN_KEY = frozenset(
    {"genxai.models.cache", "genxai.models.lock", "genxai.checkpoints", "genxai.paths", "genxai.data.fetch"}
)

#: Every model this process loaded or trained: {family, key, config_class, config, compute}; results record it.
USED: list[dict[str, Any]] = []


@dataclass
class ModelConfig:
    """Base of every trainable config.  Subclasses are dataclasses with commented fields."""

    family: ClassVar[str] = "model"

    def build(self) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define build()")

    def fit(
        self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True
    ) -> dict[str, Any]:  # pragma: no cover - abstract
        """Train ``model`` in place (resuming from ``checkpoint``); return final metrics and history."""
        raise NotImplementedError(f"{type(self).__name__} must define fit()")

    def code_files(self) -> list[Path]:
        """Source files whose text is part of the cache key (derived, see :func:`code_closure`)."""
        modules = {"genxai.train"}
        for klass in type(self).__mro__:
            if klass.__module__.startswith("genxai") and klass is not ModelConfig:
                modules.add(klass.__module__)
        for value in _walk(self):
            if isinstance(value, ModelConfig):
                modules.add(type(value).__module__)
        for name in _dataset_names(self.to_dict()):
            module = _dataset_module(name)
            if module:
                modules.add(module)
        return sorted({path for m in modules for path in code_closure(m)})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict` output (nested configs included)."""
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name not in values:
                continue
            value, kind = values[f.name], hints.get(f.name)
            if isinstance(value, dict) and isinstance(kind, type) and issubclass(kind, ModelConfig):
                value = kind.from_dict(value)
            elif isinstance(value, list) and isinstance(f.default, tuple):
                value = tuple(value)
            kwargs[f.name] = value
        return cls(**kwargs)


def _walk(config: Any):
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            yield value
            yield from _walk(value)


def _dataset_names(values: Any):
    if isinstance(values, dict):
        for k, v in values.items():
            if k == "dataset" and isinstance(v, str):
                yield v
            else:
                yield from _dataset_names(v)
    elif isinstance(values, (list, tuple)):
        for v in values:
            yield from _dataset_names(v)


@cache
def _dataset_module(name: str) -> str | None:
    """The module whose loader serves data set ``name`` (loaders register themselves in genxai.data)."""
    from .. import data

    data.available()
    loader = data._REGISTRY.get(name)
    return loader.__module__ if loader is not None else None


def _module_file(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _imports_of(name: str, path: Path) -> set[str]:
    """genxai modules imported anywhere in ``path`` (module ``name``), function-level imports included."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("genxai")}
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else node.module or ""
            )
            if not base.startswith("genxai"):
                continue
            # `from package import module` needs the module; `from package import name` needs the package's
            # __init__ (where the name is defined or re-exported)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if _is_package(base) and importlib.util.find_spec(sub) else base)
    return found


@cache
def _is_package(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return bool(spec and spec.submodule_search_locations)


def code_closure(module: str) -> list[Path]:
    """Source files of ``module`` and of every genxai module it imports, transitively (minus :data:`NOT_IN_KEY`).

    Only explicit imports are followed: a package's ``__init__`` counts where a name defined there is imported
    (``from genxai import data``, ``from genxai.models import get_or_train``), not where only its modules are
    (``from . import networks``), so editing one method's module does not retrain the models of its siblings.
    """
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name in NOT_IN_KEY or not name.startswith("genxai"):
            continue
        seen.add(name)
        path = _module_file(name)
        if path is not None:
            todo += sorted(_imports_of(name, path))
    files = {_module_file(n) for n in seen}
    return sorted(p for p in files if p is not None)


def compute_tag(device: torch.device | str = "cpu", threads: int | None = None) -> str:
    """What the weights depend on besides config and code: ``cpu-<threads>`` or ``cuda``."""
    kind = torch.device(device).type
    return "cuda" if kind == "cuda" else f"cpu-{threads or torch.get_num_threads()}"


def _relative(path: Path) -> str:
    try:
        return path.relative_to(paths.root() / "lib").as_posix()
    except ValueError:
        return path.name


def code_hashes(config: ModelConfig) -> dict[str, str]:
    """{lib-relative path: sha256} of the config's code files (recorded beside results; ``genxai verify`` diffs)."""
    return {_relative(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in config.code_files()}


def cache_key(config: ModelConfig, compute: str | None = None) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "family": config.family,
                "config": config.to_dict(),
                "genxai": __version__,
                "compute": compute or compute_tag(),
            },
            sort_keys=True,
            default=str,
        ).encode()
    )
    for rel, digest in sorted(code_hashes(config).items()):
        h.update(rel.encode())
        h.update(digest.encode())
    return h.hexdigest()[:16]


@dataclass
class CachedModel:
    model: nn.Module
    record: dict[str, Any]
    path: Path

    @property
    def metrics(self) -> dict[str, Any]:
        return self.record.get("metrics", {})


def cache_paths(config: ModelConfig, compute: str | None = None) -> tuple[Path, Path, Path]:
    folder = paths.cache_dir("models") / config.family
    key = cache_key(config, compute)
    return folder / f"{key}.pt", folder / f"{key}.json", folder / f"{key}.partial.pt"


def is_cached(config: ModelConfig, compute: str | None = None) -> bool:
    weights, sidecar, _ = cache_paths(config, compute)
    return weights.exists() and sidecar.exists()


def _record_use(config: ModelConfig, key: str, compute: str) -> None:
    entry = {
        "family": config.family,
        "key": key,
        "compute": compute,
        "config_class": f"{type(config).__module__}.{type(config).__qualname__}",
        "config": config.to_dict(),
    }
    if entry not in USED:
        USED.append(entry)


def get_or_train(
    config: ModelConfig,
    device: str | torch.device = "cpu",
    progress: bool = True,
    retrain: bool = False,
    threads: int | None = None,
    train: bool = True,
) -> CachedModel:
    """Return the trained model for ``config``: from the cache, else trained (and cached).

    Training is seeded with ``config.seed`` (when the config has one); the caller's random state is restored
    afterwards, so a notebook behaves the same whether or not the model was already cached.

    Safe for many processes sharing the cache (see :mod:`.lock`): one trains a key while the others wait on
    ``<key>.lock`` and then load its checkpoint; a killed trainer's lock is taken over and its ``.partial.pt``
    resumed.

    Args:
        threads: the CPU thread count the model is (or was) trained with; default: the current count.
        train: ``False`` never trains: a missing model raises ``FileNotFoundError`` naming the command.
    """
    dev = resolve_device(device) if isinstance(device, str) else device
    weights, sidecar, _ = cache_paths(config, compute_tag(dev, threads))
    if not retrain and weights.exists() and sidecar.exists():
        with contextlib.suppress(FileNotFoundError):  # unreadable: quarantined, then trained below
            return _get_or_train(config, dev, progress, threads=threads, train=False)
    if not train:
        return _get_or_train(config, dev, progress, retrain, threads, train=False)  # raises, naming the fix
    with KeyLock(weights.with_suffix(".lock"), what=f"{config.family}/{weights.stem}") as lock:
        if lock.took_over:  # temporary files of the killed holder's atomic writes
            for leftover in weights.parent.glob(f".{weights.stem}.*.tmp"):
                leftover.unlink(missing_ok=True)
        # after a wait the model is cached by the holder we waited for, and is loaded here
        return _get_or_train(config, dev, progress, retrain, threads)


def _get_or_train(
    config: ModelConfig,
    device: str | torch.device = "cpu",
    progress: bool = True,
    retrain: bool = False,
    threads: int | None = None,
    train: bool = True,
) -> CachedModel:
    device = resolve_device(device) if isinstance(device, str) else device
    compute = compute_tag(device, threads)
    weights, sidecar, partial = cache_paths(config, compute)
    model = config.build()
    if not retrain and weights.exists() and sidecar.exists():
        try:
            model.load_state_dict(load_state(weights))
            record = json.loads(sidecar.read_text())
        except (CorruptCheckpointError, json.JSONDecodeError) as err:
            if isinstance(err, json.JSONDecodeError):
                quarantine(sidecar, err)
            weights.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
        else:
            _record_use(config, weights.stem, compute)
            return CachedModel(model.to(device).eval(), record, weights)
    if not train:
        raise FileNotFoundError(
            f"no cached model for {type(config).__name__} (looked for {weights}); train it with "
            f"genxai.models.get_or_train(config), e.g. by running the notebook that uses it"
        )

    from ..train import fit_config  # seeding and the call of fit: part of every key, unlike this module

    started = time.time()
    weights.parent.mkdir(parents=True, exist_ok=True)
    resumed = _partial_info(partial)
    model, result = fit_config(
        config, device, partial, progress=progress, threads=threads if device.type == "cpu" else None
    )
    model.eval()
    save_state({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights)
    record = {
        "family": config.family,
        "key": weights.stem,
        "compute": compute,
        "config": config.to_dict(),
        "config_class": f"{type(config).__module__}.{type(config).__qualname__}",
        "code": code_hashes(config),
        "metrics": result.get("metrics", {}),
        "history": result.get("history", []),
        "provenance": provenance(config.to_dict(), device, started),
    }
    if resumed:
        record["resumed"] = resumed
        record["provenance"]["wall_time_s_all_parts"] = round(
            record["provenance"]["wall_time_s"] + resumed["wall_time_s_before"], 2
        )
    write_json(sidecar, record)
    partial.unlink(missing_ok=True)
    _record_use(config, weights.stem, compute)
    return CachedModel(model, record, weights)


def _partial_info(partial: Path) -> dict[str, Any] | None:
    """Where a resumed training starts: {from_epoch, wall_time_s_before}; a corrupt partial is quarantined."""
    if not partial.exists():
        return None
    try:
        state = load_state(partial)
    except CorruptCheckpointError:
        return None
    return {"from_epoch": int(state.get("epoch_done", 0)), "wall_time_s_before": float(state.get("elapsed_s", 0.0))}


def load_cached(config: ModelConfig, device: str | torch.device = "cpu", threads: int | None = None) -> CachedModel:
    """Like :func:`get_or_train` but never trains: raises if the model is not cached."""
    return get_or_train(config, device=device, threads=threads, train=False)


def config_from_record(entry: dict[str, Any]) -> ModelConfig:
    """Rebuild a config from a ``{config_class, config}`` record (sidecars, results' model lists)."""
    module, _, qualname = entry["config_class"].rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError) as err:
        raise LookupError(f"config class {entry['config_class']} no longer exists ({err})") from err
    return cls.from_dict(entry["config"])
