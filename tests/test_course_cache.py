"""Sharing the model cache: export -> import into an empty cache -> get_or_train loads without training."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from torch import nn

from genxai import cli
from genxai.course import cache_share
from genxai.course.cache_share import CacheShareError, export_cache, import_cache
from genxai.models import cache, get_or_train, is_cached


@dataclass
class ToyConfig(cache.ModelConfig):
    """A model that trains in microseconds: a seeded linear layer moved by one fixed step."""

    family: ClassVar[str] = "course_toy"
    width: int = 3
    seed: int = 0

    def build(self) -> nn.Module:
        return nn.Linear(4, self.width)

    def fit(self, model, checkpoint, device, progress=True):
        with torch.no_grad():
            model.weight.mul_(2.0).add_(0.5)
        return {"metrics": {"steps": 1}}


def _use_cache(monkeypatch, folder):
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(folder))


@pytest.fixture
def trained(tmp_genxai, monkeypatch):
    """Two toy models trained into cache A; returns (configs, their outputs on a fixed input)."""
    _use_cache(monkeypatch, tmp_genxai / "cache_a")
    configs = [ToyConfig(width=3), ToyConfig(width=5, seed=1)]
    x = torch.linspace(-1, 1, 8).reshape(2, 4)
    outputs = [get_or_train(c, progress=False).model(x).detach() for c in configs]
    return configs, x, outputs


def _no_training(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("an imported model must load, not train")

    monkeypatch.setattr(ToyConfig, "fit", boom)


def test_export_import_roundtrip_loads_without_training(trained, tmp_genxai, monkeypatch):
    configs, x, outputs = trained
    archive = tmp_genxai / "models.tar"
    manifest = export_cache(archive)
    assert {m["key"] for m in manifest["models"]} == {cache.cache_key(c) for c in configs}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"]) and len(manifest["files"]) == 4
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "MANIFEST.json"

    _use_cache(monkeypatch, tmp_genxai / "cache_b")
    assert not any(is_cached(c) for c in configs)
    summary = import_cache(archive)
    assert len(summary["imported"]) == 2 and summary["kept_local"] == []
    _no_training(monkeypatch)
    for config, expected in zip(configs, outputs):
        assert is_cached(config)
        loaded = get_or_train(config, progress=False)
        assert torch.equal(loaded.model(x).detach(), expected)
        # the checkpoint is a plain state dict: it loads with weights_only=True
        torch.load(loaded.path, weights_only=True)
    assert not list((tmp_genxai / "cache_b" / "models").glob(".import-*")), "the staging folder must be removed"
    # importing again changes nothing
    again = import_cache(archive)
    assert again["imported"] == [] and len(again["already_there"]) == 2


def _corrupted(archive, tmp_path, how):
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".pt"))
    bad = tmp_path / f"{how}.tar"
    if how == "truncated":
        bad.write_bytes(bytes(data[: member.offset_data + member.size // 2]))
    else:
        data[member.offset_data + member.size // 2] ^= 0x01  # one changed byte inside a checkpoint
        bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("how", ["truncated", "changed_byte"])
def test_corrupt_archive_is_refused_and_nothing_imported(trained, tmp_genxai, monkeypatch, how):
    archive = tmp_genxai / "models.tar"
    export_cache(archive)
    bad = _corrupted(archive, tmp_genxai, how)
    target = tmp_genxai / "cache_c"
    _use_cache(monkeypatch, target)
    with pytest.raises(CacheShareError, match="truncated or corrupt|does not match its manifest"):
        import_cache(bad)
    leftovers = [p for p in (target / "models").rglob("*") if p.is_file()] if target.exists() else []
    assert leftovers == [], f"a refused archive must leave nothing behind: {leftovers}"
    assert not list((target / "models").glob(".import-*"))


def test_altered_archive_is_refused(trained, tmp_genxai, monkeypatch):
    archive = tmp_genxai / "models.tar"
    export_cache(archive)
    extra = tmp_genxai / "extra.tar"
    with tarfile.open(archive) as src, tarfile.open(extra, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m))
        info = tarfile.TarInfo("models/course_toy/0123456789abcdef.pt")
        info.size = 0
        dst.addfile(info)
    _use_cache(monkeypatch, tmp_genxai / "cache_d")
    with pytest.raises(CacheShareError, match="not listed in its manifest"):
        import_cache(extra)
    with pytest.raises(CacheShareError, match="not a readable|truncated or corrupt|no MANIFEST"):
        not_tar = tmp_genxai / "notes.tar"
        not_tar.write_text("hello")
        import_cache(not_tar)


def test_local_models_that_differ_are_kept_unless_overwrite(trained, tmp_genxai, monkeypatch):
    configs, x, outputs = trained
    archive = tmp_genxai / "models.tar"
    export_cache(archive)
    # the same model trained again elsewhere: same key, other weights
    weights, _, _ = cache.cache_paths(configs[0])
    state = torch.load(weights, weights_only=True)
    state["bias"] = state["bias"] + 1
    torch.save(state, weights)
    summary = import_cache(archive)
    assert len(summary["kept_local"]) == 1 and len(summary["already_there"]) == 1
    assert torch.equal(torch.load(weights, weights_only=True)["bias"], state["bias"])
    summary = import_cache(archive, overwrite=True)
    assert len(summary["imported"]) == 1
    assert torch.equal(get_or_train(configs[0]).model(x).detach(), outputs[0])


def test_paper_selection_uses_run_records(trained, tmp_genxai, monkeypatch):
    configs, _, _ = trained
    key = cache.cache_key(configs[1])
    results = tmp_genxai / "results" / "ganmex"
    results.mkdir(parents=True)
    (results / "run-01_x.json").write_text(json.dumps({"models": [{"family": "course_toy", "key": key}]}))
    manifest = export_cache(tmp_genxai / "ganmex.tar", papers=["ganmex"], profile="cpu")
    assert [m["key"] for m in manifest["models"]] == [key]
    (results / "run-02_y.json").write_text(json.dumps({"models": [{"family": "course_toy", "key": "f" * 16}]}))
    with pytest.raises(CacheShareError, match="not in the cache.*genxai reproduce --paper ganmex"):
        export_cache(tmp_genxai / "ganmex.tar", papers=["ganmex"])


def test_paper_selection_falls_back_to_the_works_package(tmp_genxai, monkeypatch):
    assert cache_share.work_of("genxai.ganmex.gan.GANMEXConfig") == "ganmex"
    assert cache_share.work_of("genxai.models.classifiers.ClassifierConfig") is None
    # the toy config lives in tests/, in no work's package: a work with no run records finds no model of its own
    with pytest.raises(CacheShareError, match="no model of this work"):
        cache_share.select_models(["ganchors"])


def test_cli_export_and_import(trained, tmp_genxai, monkeypatch, capsys):
    archive = tmp_genxai / "cli.tar.gz"
    assert cli.main(["cache", "export", "-o", str(archive)]) == 0
    assert "2 models" in capsys.readouterr().out
    _use_cache(monkeypatch, tmp_genxai / "cache_e")
    assert cli.main(["cache", "import", str(archive)]) == 0
    assert "2 models imported" in capsys.readouterr().out
    assert cli.main(["cache", "import", str(tmp_genxai / "missing.tar")]) == 2
    assert "no archive at" in capsys.readouterr().err


def test_import_names_the_thread_count_that_finds_the_models(trained, tmp_genxai, monkeypatch):
    configs, _, _ = trained
    archive = tmp_genxai / "models.tar"
    manifest = export_cache(archive)
    tags = {m["compute"] for m in manifest["models"]}
    assert tags == {cache.compute_tag("cpu")}, "the manifest records where each model was trained"
    trained_threads = int(tags.pop().split("-")[1])
    _use_cache(monkeypatch, tmp_genxai / "cache_f")
    monkeypatch.setenv("GENXAI_THREADS", str(trained_threads + 1))
    notes = import_cache(archive)["notes"]
    assert any(f"GENXAI_THREADS={trained_threads}" in n for n in notes), notes
    monkeypatch.setenv("GENXAI_THREADS", str(trained_threads))
    assert not any("GENXAI_THREADS" in n for n in import_cache(archive)["notes"])
