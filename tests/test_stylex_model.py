"""StylExConfig: builds, trains through get_or_train with finite losses, caches, reloads, resumes; KL term."""

from __future__ import annotations

import math

import pytest
import torch
from helpers_stylex import TINY_PAIR_CLASSIFIER, TINY_STYLEX

from genxai.models import get_or_train
from genxai.stylex.model import PairClassifierConfig, StylExConfig, kl_term, load_pair
from genxai.train import fit_config

torch.set_num_threads(1)

CLF = PairClassifierConfig(**TINY_PAIR_CLASSIFIER)


def tiny(**kw) -> StylExConfig:
    return StylExConfig(**{"classifier": CLF, **TINY_STYLEX, "r1_every": 2, **kw})


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_the_pair_is_relabelled_and_checked():
    data = load_pair("fashion_mnist", (7, 9), "test", 16, 50, 0)
    assert data.classes == ("Sneaker", "Ankle boot") and set(data.labels.tolist()) <= {0, 1}
    assert data.images.shape[1:] == (1, 16, 16) and data.images.min() >= -1 and data.images.max() <= 1
    with pytest.raises(ValueError, match="two different"):
        load_pair("fashion_mnist", (7, 7), "test", 16, 50, 0)
    with pytest.raises(ValueError, match="unknown StylEx architecture"):
        StylExConfig(arch="newest")


def test_kl_is_zero_when_the_reconstruction_keeps_the_classifier_output():
    logits = torch.randn(6, 2)
    assert kl_term(logits, logits.clone()).abs().item() < 1e-6
    assert kl_term(logits, logits + 5.0).abs().item() < 1e-6  # same softmax: same decision, no penalty
    assert kl_term(logits, logits.flip(1)).item() > 1e-3


@pytest.mark.parametrize("arch", ["old", "new"])
def test_tiny_config_fits_caches_and_reloads(arch, tmp_cache):
    config = tiny(arch=arch)
    trained = get_or_train(config, progress=False)
    (epoch,) = trained.record["history"]
    assert {"loss_d", "adv_g", "rec", "kl", "r1"} <= set(epoch)
    assert all(math.isfinite(v) for v in epoch.values())
    assert 0.0 <= trained.metrics["decision_kept"] <= 1.0
    assert trained.metrics["n_coords"] == trained.model.G.n_coords
    # the classifier StylEx explains is the cached one
    clf = get_or_train(config.classifier, train=False)
    for a, b in zip(clf.model.state_dict().values(), trained.model.C.state_dict().values()):
        assert torch.equal(a, b)
    again = get_or_train(config, train=False)
    for (k, v), w in zip(trained.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(v, w), k
    opt = config.optimizers(config.build())["g"]
    if arch == "new":
        assert [g["lr"] for g in opt.param_groups] == [config.lr, config.encoder_lr]
        assert trained.model.D.n_classes == 2
    else:
        assert len(opt.param_groups) == 1 and trained.model.D.n_classes == 0


def test_a_resumed_training_equals_an_uninterrupted_one(tmp_cache):
    two = tiny(epochs=2)
    whole, _ = fit_config(two, torch.device("cpu"), tmp_cache / "a.pt", progress=False)
    fit_config(tiny(epochs=1), torch.device("cpu"), tmp_cache / "b.pt", progress=False)
    resumed, result = fit_config(two, torch.device("cpu"), tmp_cache / "b.pt", progress=False)
    assert len(result["history"]) == 2
    for (k, v), w in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(v, w), k


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_every_profile_gives_a_valid_config(profile, tmp_path, monkeypatch):
    from helpers_stylex import official_lpips_files

    from genxai.stylex import lpips
    from genxai.stylex.model import config_from_profile

    # the paper profile trains with LPIPS: it needs the user's weight files (random ones here)
    folder = official_lpips_files(tmp_path / "lpips")
    monkeypatch.setattr(lpips, "weights_dir", lambda: folder)
    config = config_from_profile(profile)
    assert StylExConfig.from_dict(config.to_dict()) == config
    assert config.classifier.classes[0] != config.classifier.classes[1]
    assert config.perceptual == ("lpips" if profile == "paper" else "classifier")


def test_the_cpu_profile_explains_sneakers_against_ankle_boots_at_32px():
    from genxai.stylex.model import config_from_profile

    config = config_from_profile("cpu")
    assert (config.classifier.dataset, config.classifier.classes, config.classifier.size) == (
        "fashion_mnist",
        (7, 9),
        32,
    )
