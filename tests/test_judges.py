"""The independent judge: nothing else reaches it, its realism score comes with a floor, and it agrees with real
images about as often as its accuracy says."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest
import torch

import genxai
from genxai import data
from genxai.metrics.realism import judge_agreement, realism
from genxai.models import cache, get_or_train
from genxai.models.judges import JudgeConfig, JudgeNet, judge_config

torch.set_num_threads(1)

TINY_JUDGE = JudgeConfig(dataset="digits", epochs=4, width=8, batch_size=64, max_rotate=0.0, max_shift=1)


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENXAI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        trained = get_or_train(TINY_JUDGE, progress=False)
    return trained


def _config_classes():
    for info in pkgutil.walk_packages(genxai.__path__, "genxai."):
        if info.name.split(".")[-1] not in ("cli", "__main__"):
            importlib.import_module(info.name)

    def subclasses(klass):
        for sub in klass.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {k for k in subclasses(cache.ModelConfig) if k.__module__.startswith("genxai")}


def _nested(value):
    if dataclasses.is_dataclass(value):
        yield value
        for f in dataclasses.fields(value):
            yield from _nested(getattr(value, f.name))
    elif isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _nested(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _nested(v)


def test_no_other_model_config_references_the_judge():
    """Independence: no generator (or any other model) config holds a judge or has the judge's code in its key."""
    classes = _config_classes() - {JudgeConfig}
    assert len(classes) >= 8  # every family of the package, not an empty scan
    for klass in classes:
        config = klass()
        files = {p.name for p in config.code_files()} | {p.as_posix() for p in config.code_files()}
        assert not any(f.endswith("models/judges.py") for f in files), klass.__name__
        for value in _nested(config):
            assert not isinstance(value, JudgeConfig), klass.__name__
            assert not (isinstance(value, dict) and value.get("family") == "judge"), klass.__name__
        hints = " ".join(str(f.type) for f in dataclasses.fields(klass))
        assert "Judge" not in hints, klass.__name__
    assert any(f.name == "judges.py" for f in TINY_JUDGE.code_files())  # the scan would see it


def test_the_judge_differs_from_the_standard_classifier():
    standard = genxai.models.classifier_config("mnist", "cpu")
    mine = judge_config("mnist", "cpu")
    assert mine.seed != standard.seed and mine.family != standard.family
    assert isinstance(TINY_JUDGE.build(), JudgeNet)
    assert not isinstance(genxai.models.ClassifierConfig(dataset="digits").build(), JudgeNet)


def test_the_fd_floor_is_far_below_real_vs_noise_and_n_is_checked(judge):
    test = data.load("digits", "test")
    pool, rest = test.take(range(0, 200)), test.take(range(200, 300))
    fake_real = rest.images[:40]
    noise = torch.rand_like(fake_real) * 2 - 1
    real_score = realism(judge.model, fake_real, rest.labels[:40], pool.images, pool.labels, seed=0)
    noise_score = realism(judge.model, noise, rest.labels[:40], pool.images, pool.labels, seed=0)
    assert real_score["n"] == noise_score["n"] == 40
    assert noise_score["floor"] == pytest.approx(real_score["floor"])  # same n, same seed: the same real draws
    assert real_score["floor"] * 5 < noise_score["fd"]
    assert real_score["fd"] * 3 < noise_score["fd"]
    with pytest.raises(ValueError, match="held-out real images"):
        realism(judge.model, noise, rest.labels[:40], pool.images[:60], pool.labels[:60])
    with pytest.raises(ValueError, match="of class"):  # one class claimed by all: too few of it in the pool
        realism(judge.model, noise, 3, pool.images, pool.labels)


def test_agreement_on_real_test_images_matches_the_judges_accuracy(judge):
    test = data.load("digits", "test")
    idx = data.balanced_indices(test.labels, 20, seed=0)
    agreement = judge_agreement(judge.model, test.images[idx], test.labels[idx])
    accuracy = judge.metrics["test_acc"]
    assert accuracy > 0.6  # a judge worth asking
    assert agreement >= accuracy - 0.1
    wrong = judge_agreement(judge.model, test.images[idx], (test.labels[idx] + 1) % 10)
    assert wrong < 1 - accuracy + 0.1
