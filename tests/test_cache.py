import json

import pytest
import torch
from helpers_training import kill_after_first_epoch

from genxai.models import ClassifierConfig, cache, ensure_logits, get_or_train, is_cached, load_cached


def _cfg(**kw):
    base = dict(dataset="digits", epochs=2, width=8, batch_size=32, lr=5e-3, max_shift=0, max_rotate=0.0)
    base.update(kw)
    return ClassifierConfig(**base)


def test_key_depends_on_config_and_code(monkeypatch, tmp_path):
    a, b = _cfg(), _cfg(epochs=3)
    assert cache.cache_key(a) == cache.cache_key(_cfg())
    assert cache.cache_key(a) != cache.cache_key(b)
    # editing a source file of the model changes the key (no stale checkpoints)
    fake = tmp_path / "edited.py"
    fake.write_text("# v2")
    monkeypatch.setattr(ClassifierConfig, "code_files", lambda self: [fake])
    k1 = cache.cache_key(a)
    fake.write_text("# v3")
    assert cache.cache_key(a) != k1


def test_get_or_train_caches_and_reloads(tmp_genxai, monkeypatch):
    cfg = _cfg()
    assert not is_cached(cfg)
    with pytest.raises(FileNotFoundError, match="get_or_train"):
        load_cached(cfg)
    torch.manual_seed(123)
    before = torch.rand(1)
    trained = get_or_train(cfg, progress=False)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), before)  # the caller's RNG is untouched by training
    assert is_cached(cfg)
    record = json.loads(trained.path.with_suffix(".json").read_text())
    assert record["config"]["epochs"] == 2 and len(record["history"]) == 2
    assert record["metrics"]["test_acc"] > 0.5  # it really learned the 8x8 digits

    def boom(*a, **k):
        raise AssertionError("must not retrain a cached model")

    monkeypatch.setattr(ClassifierConfig, "fit", boom)
    again = get_or_train(cfg)
    for (k, v), (_, w) in zip(trained.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(v, w), k


def test_killed_training_resumes_to_the_same_model(tmp_genxai, monkeypatch):
    cfg = _cfg(epochs=3)
    reference = get_or_train(cfg, progress=False, retrain=True).model.state_dict()
    weights, sidecar, partial = cache.cache_paths(cfg)
    weights.unlink()
    sidecar.unlink()

    kill_after_first_epoch(monkeypatch, cfg)
    assert partial.exists() and not weights.exists()
    resumed = get_or_train(cfg, progress=False).model.state_dict()
    assert not partial.exists()
    for k in reference:
        assert torch.equal(reference[k], resumed[k]), k


def test_ensure_logits_rejects_probabilities():
    x = torch.zeros(4, 1, 8, 8)
    with pytest.raises(ValueError, match="softmax"):
        ensure_logits(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3), torch.nn.Softmax(1)), x)
    ensure_logits(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)), x)
