"""get_or_train_many: workers fill the same cache, with the same weights as in-process training."""

import pytest
import torch

from genxai.models import ClassifierConfig, cache, get_or_train, is_cached
from genxai.models.parallel import get_or_train_many


def _cfg(seed: int) -> ClassifierConfig:
    return ClassifierConfig(
        dataset="digits", epochs=1, width=4, batch_size=64, lr=5e-3, max_shift=0, max_rotate=0.0, seed=seed
    )


def test_workers_train_into_the_cache_the_same_weights_as_in_process(tmp_genxai, monkeypatch):
    monkeypatch.setenv("GENXAI_THREADS", "2")  # 2 workers x 1 thread
    configs = [_cfg(0), _cfg(1), _cfg(0)]  # a duplicate is trained once
    models = get_or_train_many(configs, workers=2, progress=False)
    assert [is_cached(c) for c in configs] == [True, True, True]
    assert models[0].path == models[2].path and models[0].path != models[1].path
    record = models[0].record
    assert record["provenance"]["torch_threads"] == 1

    # the same config trained in this process with 1 thread gives bit-identical weights
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = get_or_train(_cfg(0), progress=False, retrain=True).model.state_dict()
    finally:
        torch.set_num_threads(threads)
    for name, value in models[0].model.state_dict().items():
        assert torch.equal(value, here[name]), name


def test_a_lone_uncached_model_gets_the_same_thread_count(tmp_genxai, monkeypatch):
    monkeypatch.setenv("GENXAI_THREADS", "2")
    [model] = get_or_train_many([_cfg(2)], workers=2, progress=False)
    assert model.record["provenance"]["torch_threads"] == 1  # as when it trains beside another


def test_cached_configs_start_no_worker(tmp_genxai, monkeypatch):
    get_or_train(_cfg(0), progress=False)

    def no_pool(*a, **k):
        raise AssertionError("no process pool for cached models")

    monkeypatch.setattr("genxai.models.parallel.ProcessPoolExecutor", no_pool)
    [model] = get_or_train_many([_cfg(0)], workers=2, progress=False)
    assert model.path == cache.cache_paths(_cfg(0))[0]


def test_rejects_what_is_not_a_config_and_bad_worker_counts():
    with pytest.raises(TypeError, match="ModelConfig"):
        get_or_train_many([{"dataset": "mnist"}])
    with pytest.raises(ValueError, match="workers"):
        get_or_train_many([_cfg(0)], workers=0)
