"""A model cache a class can share: ``genxai cache export`` / ``genxai cache import``.

The instructor trains once (``genxai reproduce``), exports the checkpoints a work uses into one tar
archive, and students import it, so every notebook finds its models and runs warm.

Archive layout: ``MANIFEST.json`` first (format, genxai version and git sha, the selection, and the
sha256 and size of every file), then ``models/<family>/<key>.pt`` (state dict) and
``models/<family>/<key>.json`` (the sidecar record) per model, exactly as in the cache.

Import is all or nothing: every member must be listed in the manifest and every listed file present,
each file is extracted into a staging folder inside the cache and checked (sha256, size, the
checkpoint loads with ``torch.load(weights_only=True)``, the sidecar names its own family and key)
before the first file is renamed into place; weights go in before their sidecars, so the cache never
holds a sidecar without its weights.  A cache key includes the CPU thread count a model was trained with
(``cpu-<threads>``): the import says which ``GENXAI_THREADS`` finds the imported models.

Which models belong to a work: the ``models`` list ({family, key}) of the work's run records
``results[/<profile>]/<work>/run-*.json`` when they have one; otherwise every model whose config
class lives in the work's package, plus every model of the shared families (the classifiers), since
the cache does not record which notebook or profile used a model (the export says so in its note).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import __version__, paths
from ..repro import atomic_path, default_threads, git_sha

FORMAT = "genxai-model-cache/1"
MANIFEST = "MANIFEST.json"
_MEMBER = re.compile(r"^models/([A-Za-z0-9_.-]+)/([0-9a-f]{8,64})\.(pt|json)$")


class CacheShareError(ValueError):
    """An export or import that cannot proceed; the message names the problem and the fix."""


def _models_root() -> Path:
    return paths.cache_dir("models")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_models() -> list[dict[str, Any]]:
    """Every complete model in the cache (weights and sidecar): family, key, config class."""
    out = []
    root = _models_root()
    for sidecar in sorted(root.glob("*/*.json")):
        weights = sidecar.with_suffix(".pt")
        if not weights.is_file() or not _MEMBER.match(f"models/{sidecar.parent.name}/{sidecar.name}"):
            continue
        try:
            record = json.loads(sidecar.read_text())
        except json.JSONDecodeError:
            continue  # a sidecar being written by a running training: not a cached model yet
        out.append(
            {
                "family": sidecar.parent.name,
                "key": sidecar.stem,
                "config_class": record.get("config_class", ""),
                "compute": record.get("compute"),
            }
        )
    return out


def work_of(config_class: str) -> str | None:
    """The work a model belongs to, from the module of its config class (None: a shared model)."""
    nb_dir = paths.notebooks_dir()
    works = {p.name for p in nb_dir.iterdir() if p.is_dir()} if nb_dir.is_dir() else set()
    parts = config_class.split(".")
    if len(parts) > 2 and parts[0] == "genxai" and parts[1] in works:
        return parts[1]
    return None


def _run_record_models(paper: str, profile: str) -> list[dict[str, str]] | None:
    folder = paths.results_dir(paper, profile, create=False)
    found, any_list = [], False
    for record_path in sorted(folder.glob("run*.json")):
        try:
            record = json.loads(record_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(record.get("models"), list):
            any_list = True
            found += [{"family": str(m["family"]), "key": str(m["key"])} for m in record["models"]]
    return found if any_list else None


def select_models(
    papers: Iterable[str] | None = None, profile: str = paths.DEFAULT_PROFILE
) -> tuple[list[dict[str, Any]], list[str]]:
    """The models to export and notes on how they were chosen (see the module docstring)."""
    available = cached_models()
    by_id = {(m["family"], m["key"]): m for m in available}
    if papers is None:
        return available, [f"every model in the cache ({paths.cache_dir()})"]
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    notes = []
    for paper in papers:
        listed = _run_record_models(paper, profile)
        if listed is not None:
            missing = [f"{m['family']}/{m['key']}" for m in listed if (m["family"], m["key"]) not in by_id]
            if missing:
                raise CacheShareError(
                    f"{paper}: its run records list models that are not in the cache {paths.cache_dir()}: "
                    f"{', '.join(missing)}; train them first with "
                    f"`genxai reproduce --paper {paper} --profile {profile}`"
                )
            for m in listed:
                chosen[(m["family"], m["key"])] = by_id[(m["family"], m["key"])]
            notes.append(f"{paper}: the {len(listed)} models listed in its {profile} run records")
            continue
        own = [m for m in available if work_of(m["config_class"]) == paper]
        shared = [m for m in available if work_of(m["config_class"]) is None]
        if not own:
            raise CacheShareError(
                f"{paper}: no model of this work in the cache {paths.cache_dir()}; train them "
                f"with `genxai reproduce --paper {paper} --profile {profile}`"
            )
        for m in own + shared:
            chosen[(m["family"], m["key"])] = m
        notes.append(
            f"{paper}: its run records list no models, so every cached model of its families "
            f"({', '.join(sorted({m['family'] for m in own}))}) and every shared model "
            f"({len(shared)}: {', '.join(sorted({m['family'] for m in shared})) or 'none'}), of any profile"
        )
    return sorted(chosen.values(), key=lambda m: (m["family"], m["key"])), notes


def export_cache(
    out: str | os.PathLike, papers: Iterable[str] | None = None, profile: str = paths.DEFAULT_PROFILE
) -> dict[str, Any]:
    """Write the chosen models into the tar archive ``out`` (``.tar.gz``/``.tgz``: gzip); returns the manifest."""
    papers = list(papers) if papers is not None else None
    models, notes = select_models(papers, profile)
    if not models:
        raise CacheShareError(f"nothing to export: the cache {paths.cache_dir()} holds no trained model")
    root = _models_root()
    files = []
    for m in models:
        for suffix in (".pt", ".json"):
            path = root / m["family"] / f"{m['key']}{suffix}"
            files.append(
                {
                    "path": f"models/{m['family']}/{m['key']}{suffix}",
                    "sha256": _sha256_file(path),
                    "bytes": path.stat().st_size,
                }
            )
    sha, dirty = git_sha()
    manifest = {
        "format": FORMAT,
        "genxai": __version__,
        "git_sha": sha,
        "git_dirty": dirty,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "papers": papers,
        "profile": profile,
        "selection": notes,
        "models": models,
        "files": files,
    }
    out = Path(out)
    mode = "w:gz" if out.name.endswith((".tar.gz", ".tgz")) else "w"
    with atomic_path(out) as tmp:
        with tarfile.open(tmp, mode, format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(_dt.datetime.now().timestamp()), 0o644
            tar.addfile(info, io.BytesIO(data))
            for f in files:
                tar.add(root / f["path"].split("/", 1)[1], arcname=f["path"], recursive=False)
    return manifest


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
    except KeyError:
        raise CacheShareError(f"{archive} has no {MANIFEST}: it was not written by `genxai cache export`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CacheShareError(f"{archive}: its {MANIFEST} is corrupt ({err}); export the archive again") from err
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), list)
    ):
        raise CacheShareError(
            f"{archive}: {MANIFEST} is not a {FORMAT} manifest (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r})"
        )
    return manifest


def import_cache(archive: str | os.PathLike, overwrite: bool = False) -> dict[str, Any]:
    """Verify the archive completely, then move its models into the cache; returns a summary.

    A model already in the cache with the same bytes is left alone; with other bytes (trained again
    elsewhere) the local one is kept unless ``overwrite``.
    """
    import torch

    archive = Path(archive)
    if not archive.is_file():
        raise CacheShareError(f"no archive at {archive}")
    root = _models_root()
    root.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                manifest = _read_manifest(tar, archive)
                expected = {}
                for f in manifest["files"]:
                    if not isinstance(f, dict) or not _MEMBER.match(str(f.get("path"))) or "sha256" not in f:
                        raise CacheShareError(
                            f"{archive}: manifest entry {f!r} is not a models/<family>/<key>.pt|json file with a sha256"
                        )
                    expected[f["path"]] = f
                seen = set()
                for m in members:
                    if m.name == MANIFEST:
                        continue
                    if m.name not in expected:
                        raise CacheShareError(
                            f"{archive}: member {m.name!r} is not listed in its manifest; "
                            "the archive was altered after export"
                        )
                    if not m.isfile() or m.name in seen:
                        raise CacheShareError(f"{archive}: member {m.name!r} is not a single regular file")
                    seen.add(m.name)
                    target = stage / m.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    h, size = hashlib.sha256(), 0
                    with tar.extractfile(m) as src, open(target, "wb") as dst:
                        for chunk in iter(lambda: src.read(1 << 20), b""):
                            h.update(chunk)
                            size += len(chunk)
                            dst.write(chunk)
                    want = expected[m.name]
                    if h.hexdigest() != want["sha256"] or size != want.get("bytes", size):
                        raise CacheShareError(
                            f"{archive}: {m.name} does not match its manifest (sha256 or size "
                            "differs): the archive is corrupt; copy or export it again"
                        )
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            raise CacheShareError(
                f"{archive} cannot be read as a tar archive ({err}): it is truncated or "
                "corrupt; copy or export it again"
            ) from err
        missing = sorted(set(expected) - seen)
        if missing:
            raise CacheShareError(
                f"{archive} lacks files its manifest lists: {', '.join(missing)}; "
                "it is incomplete, copy or export it again"
            )
        models = sorted({p.rsplit(".", 1)[0] for p in expected})
        for stem in models:
            weights, sidecar = stage / f"{stem}.pt", stage / f"{stem}.json"
            if not weights.is_file() or not sidecar.is_file():
                raise CacheShareError(f"{archive}: {stem} needs both its .pt and .json")
            try:
                record = json.loads(sidecar.read_text())
                torch.load(weights, map_location="cpu", weights_only=True)
            except Exception as err:
                raise CacheShareError(
                    f"{archive}: {stem} does not load ({type(err).__name__}: {err}); "
                    "only state dicts loadable with weights_only=True are imported"
                ) from err
            family, key = stem.split("/")[1:]
            if record.get("key") != key or record.get("family") != family:
                raise CacheShareError(
                    f"{archive}: the sidecar of {stem} names {record.get('family')}/{record.get('key')}, not itself"
                )
        same, kept, todo = [], [], []
        for stem in models:
            rels = [f"{stem}.pt", f"{stem}.json"]
            there = [root / rel.split("/", 1)[1] for rel in rels]
            if all(d.exists() and _sha256_file(d) == expected[r]["sha256"] for d, r in zip(there, rels)):
                same.append(stem)
            elif any(d.exists() for d in there) and not overwrite:
                kept.append(stem)  # trained again elsewhere: the local model stays unless asked
            else:
                todo.append(stem)
        for suffix in (".pt", ".json"):  # weights first: a sidecar is never there without its weights
            for stem in todo:
                dst = root / f"{stem}{suffix}".split("/", 1)[1]
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / f"{stem}{suffix}", dst)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    sha, _ = git_sha()
    notes = []
    # the cache key includes the CPU thread count that trained a model: say which count finds these models
    local = f"cpu-{default_threads()}"
    tags = sorted({m.get("compute") for m in manifest.get("models", []) if m.get("compute")})
    cpu_tags = [t for t in tags if t.startswith("cpu-") and t != local]
    if cpu_tags:
        counts = ", ".join(t.split("-", 1)[1] for t in cpu_tags)
        notes.append(
            f"models trained with {', '.join(cpu_tags)}: run the notebooks with GENXAI_THREADS={counts} "
            f"(this machine's default is {local}), or they are trained again"
        )
    if manifest.get("git_sha") and sha and manifest["git_sha"] != sha:
        notes.append(
            f"the models were exported at commit {manifest['git_sha'][:12]}, this checkout is at "
            f"{sha[:12]}: models whose code changed since then have other keys and will be retrained"
        )
    return {
        "archive": str(archive),
        "models": len(models),
        "imported": todo,
        "already_there": same,
        "kept_local": kept,
        "notes": notes,
        "selection": manifest.get("selection", []),
    }
