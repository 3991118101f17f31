"""The model cache's reliability: normal file modes, identical bytes for identical weights, unreadable checkpoints
and partials quarantined and retrained, resumes recorded in the sidecar."""

from __future__ import annotations

import json
import os

import pytest
import torch
from helpers_training import kill_after_first_epoch

from genxai import paths
from genxai.models import ClassifierConfig, cache, get_or_train
from genxai.repro import write_json


def _cfg(**kw):
    base = dict(dataset="digits", n_train=128, epochs=2, width=4, batch_size=64, lr=5e-3, max_shift=0, max_rotate=0.0)
    return ClassifierConfig(**{**base, **kw})


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _halve(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def test_results_and_checkpoints_get_normal_file_modes(tmp_genxai):
    mode = _umask_mode()
    assert mode != 0o600
    result = write_json(tmp_genxai / "results" / "x" / "metrics.json", {"a": 1})
    assert result.stat().st_mode & 0o777 == mode
    weights, sidecar, _ = cache.cache_paths(_cfg())
    get_or_train(_cfg(), progress=False)
    assert weights.stat().st_mode & 0o777 == mode and sidecar.stat().st_mode & 0o777 == mode


def test_identical_weights_give_identical_checkpoint_bytes(tmp_genxai):
    cfg = _cfg()
    first = get_or_train(cfg, progress=False).path.read_bytes()
    second = get_or_train(cfg, progress=False, retrain=True).path.read_bytes()
    assert first == second


def test_a_truncated_checkpoint_is_quarantined_and_retrained(tmp_genxai):
    cfg = _cfg()
    trained = get_or_train(cfg, progress=False)
    good = trained.path.read_bytes()
    _halve(trained.path)
    with pytest.warns(UserWarning, match=f"{trained.path.name}.*could not be read.*quarantine"):
        again = get_or_train(cfg, progress=False)
    assert again.path.read_bytes() == good  # retrained to the same weights
    assert len(list(paths.cache_dir("quarantine").iterdir())) == 1
    _halve(again.path)
    with pytest.warns(UserWarning), pytest.raises(FileNotFoundError, match="get_or_train"):
        get_or_train(cfg, train=False)  # asked not to train: stops with the command that retrains


def test_a_truncated_partial_is_quarantined_and_training_restarts(tmp_genxai, monkeypatch):
    cfg = _cfg(epochs=3)
    reference = get_or_train(cfg, progress=False).path.read_bytes()
    weights, sidecar, partial = cache.cache_paths(cfg)
    weights.unlink()
    sidecar.unlink()
    kill_after_first_epoch(monkeypatch, cfg)
    assert partial.exists()
    _halve(partial)
    with pytest.warns(UserWarning, match=f"{partial.name}.*could not be read"):
        restarted = get_or_train(cfg, progress=False)
    assert restarted.path.read_bytes() == reference and not partial.exists()
    assert "resumed" not in restarted.record  # started from scratch
    assert any(p.name.startswith(f"{cfg.family}-{partial.name}") for p in paths.cache_dir("quarantine").iterdir())


def test_a_resumed_model_records_the_resume_in_its_sidecar(tmp_genxai, monkeypatch):
    cfg = _cfg(epochs=3)
    kill_after_first_epoch(monkeypatch, cfg)
    resumed = get_or_train(cfg, progress=False)
    record = json.loads(resumed.path.with_suffix(".json").read_text())
    assert record["resumed"]["from_epoch"] == 1 and record["resumed"]["wall_time_s_before"] > 0
    prov = record["provenance"]
    assert prov["wall_time_s_all_parts"] == pytest.approx(
        prov["wall_time_s"] + record["resumed"]["wall_time_s_before"], abs=0.01
    )
    assert torch.isfinite(torch.tensor(record["metrics"]["test_acc"]))
