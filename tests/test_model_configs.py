"""Every ModelConfig of the package: build, fit a tiny run, cache, reload; and cache keys derived from the code.

The table below must name every ModelConfig subclass in genxai (checked), so a new model family cannot skip
these tests.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil

import pytest
import torch
from helpers_stylex import TINY_PAIR_CLASSIFIER, TINY_STYLEX

import genxai
from genxai.gan_xai import DirectionConfig, GANConfig, InfoGANConfig
from genxai.ganchors import DCGANConfig, EncoderConfig
from genxai.ganmex import GANMEXConfig
from genxai.models import ClassifierConfig, cache, get_or_train, is_cached
from genxai.models.judges import JudgeConfig
from genxai.scrabblegan import RecogniserConfig, ScrabbleGANConfig
from genxai.scrabblegan.directions import WordDirectionConfig
from genxai.scrabblegan.infogan import ScrabbleInfoGANConfig
from genxai.stylex import PairClassifierConfig, StylExConfig
from genxai.stylex.trains_task import FactorDetectorConfig, TrainsStylExConfig, trains_classifier
from genxai.trains import ConceptClassifierConfig, VAEConfig, WGANGPConfig
from genxai.trains.detector import TrainsDetectorConfig

torch.set_num_threads(1)

_CLF = dict(dataset="mnist", n_train=64, epochs=1, batch_size=32, width=4)
_GAN = dict(n_train=64, epochs=1, batch_size=32, width=8)

TINY = {
    "ClassifierConfig": ClassifierConfig(**_CLF),
    "JudgeConfig": JudgeConfig(**_CLF),
    "ConceptClassifierConfig": ConceptClassifierConfig(**_CLF, monitor_n=16),
    "GANConfig": GANConfig(**_GAN, latent_dim=8, embed_dim=4, conditional=True),
    "InfoGANConfig": InfoGANConfig(**_GAN, noise_dim=4, hidden=16, lambda_aug=1.0),
    "DirectionConfig": DirectionConfig(
        generator=GANConfig(**_GAN, latent_dim=8, embed_dim=4), n_directions=3, epochs=1, steps_per_epoch=2
    ),
    "DCGANConfig": DCGANConfig(n_train=64, nz=8, ngf=4, ndf=4, epochs=1, batch_size=32),
    "EncoderConfig": EncoderConfig(
        gan=DCGANConfig(n_train=64, nz=8, ngf=4, ndf=4, epochs=1, batch_size=32), n_train=32, k=2, batch_size=16
    ),
    "GANMEXConfig": GANMEXConfig(
        classifier=ClassifierConfig(**_CLF),
        n_train=64,
        steps=4,
        steps_per_epoch=2,
        batch_size=8,
        dim=4,
        n_res=1,
        finetune_steps=0,
    ),
    "WGANGPConfig": WGANGPConfig(
        dataset="mnist",
        n_train=64,
        z_dim=8,
        width=8,
        epochs=1,
        batch_size=32,
        n_monitor=8,
        classifier=ClassifierConfig(**_CLF).to_dict(),
        steer_weight=1.0,
    ),
    "VAEConfig": VAEConfig(dataset="mnist", n_train=64, z_dim=4, width=8, epochs=1, batch_size=32),
    "ScrabbleGANConfig": ScrabbleGANConfig(
        n_train=64, z_dim=8, g_ch=2, d_ch=2, r_width=2, epochs=1, steps_per_epoch=2, batch_size=4
    ),
    "RecogniserConfig": RecogniserConfig(n_train=64, width=2, epochs=1, steps_per_epoch=2, batch_size=4, n_test=16),
    "WordDirectionConfig": WordDirectionConfig(
        generator=ScrabbleGANConfig(
            n_train=64, z_dim=8, g_ch=2, d_ch=2, r_width=2, epochs=1, steps_per_epoch=2, batch_size=4
        ),
        n_directions=2,
        epochs=1,
        steps_per_epoch=2,
        batch_size=4,
    ),
    "ScrabbleInfoGANConfig": ScrabbleInfoGANConfig(
        n_train=64,
        z_dim=16,
        g_ch=2,
        d_ch=2,
        r_width=2,
        epochs=1,
        steps_per_epoch=2,
        batch_size=4,
        n_cat=2,
        n_cont=1,
        attention_at=0,
    ),
    "FactorDetectorConfig": FactorDetectorConfig(n_images=64, epochs=1, width=4, batch_size=32),
    "TrainsDetectorConfig": TrainsDetectorConfig(n_images=64, epochs=1, width=4, batch_size=32),
    "TrainsStylExConfig": TrainsStylExConfig(
        classifier=trains_classifier(n_images=64, epochs=1, width=4, batch_size=32), **TINY_STYLEX
    ),
    "PairClassifierConfig": PairClassifierConfig(**TINY_PAIR_CLASSIFIER),
    "StylExConfig": StylExConfig(classifier=PairClassifierConfig(**TINY_PAIR_CLASSIFIER), **TINY_STYLEX),
}


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A private model cache; the fetched data stay where they are."""
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _all_config_classes() -> set[str]:
    for info in pkgutil.walk_packages(genxai.__path__, "genxai."):
        if info.name.split(".")[-1] not in ("cli", "__main__"):
            importlib.import_module(info.name)

    def subclasses(klass):
        for sub in klass.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {k.__name__ for k in subclasses(cache.ModelConfig) if k.__module__.startswith("genxai")}


def test_the_table_names_every_model_config():
    assert _all_config_classes() == set(TINY), "add a tiny config for the new family to TINY"


@pytest.mark.parametrize("name", sorted(TINY))
def test_build_fit_cache_and_reload(name, tmp_cache):
    config = TINY[name]
    trained = get_or_train(config, progress=False)
    assert is_cached(config)
    record = json.loads(trained.path.with_suffix(".json").read_text())
    assert record["compute"] == f"cpu-{torch.get_num_threads()}" and record["code"]
    assert cache.config_from_record(record) == config  # results can name the model and rebuild it
    again = get_or_train(config, train=False)
    for (k, v), w in zip(trained.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(v, w), k


# ------------------------------------------------------------------ keys derived from the code
def _files(config) -> set[str]:
    return {p.relative_to(p.parents[1]).as_posix() for p in config.code_files()}


def test_the_vae_key_covers_its_decoder_and_the_encoder_key_its_dcgan():
    vae = _files(VAEConfig())
    assert any(f.endswith("trains/vae.py") for f in vae) and any(f.endswith("genxai/train.py") for f in vae)
    assert any(f.endswith("trains/wgan_gp.py") for f in vae)  # the decoder's layers live there
    enc = _files(TINY["EncoderConfig"])
    assert any(f.endswith("ganchors/dcgan.py") for f in enc)
    assert not any("ganmex" in f or "gan_xai" in f or "trains/" in f for f in enc)


def _edited_copy_key(tmp_path, monkeypatch, config, module_rel: str) -> tuple[str, str]:
    """The key of ``config`` before and after appending a comment to ``lib/genxai/<module_rel>`` (on a copy)."""
    src = genxai.__path__[0]
    copy = tmp_path / "genxai"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_module_file", lambda name: _in_copy(copy, name))
    before = cache.cache_key(config)
    with open(copy / module_rel, "a") as fh:
        fh.write("\n# edited\n")
    return before, cache.cache_key(config)


def _in_copy(copy, name):
    rel = name.split(".")[1:]
    package = copy.joinpath(*rel, "__init__.py")
    module = copy.joinpath(*rel[:-1], f"{rel[-1]}.py") if rel else copy / "__init__.py"
    return package if package.exists() else module if module.exists() else None


@pytest.mark.parametrize(
    "config, module, changes",
    [
        ("VAEConfig", "trains/wgan_gp.py", True),  # the VAE's decoder
        ("EncoderConfig", "ganchors/dcgan.py", True),  # the DCGAN the encoder trains against
        ("InfoGANConfig", "models/classifiers.py", True),  # its transformation term reuses random_affine
        ("ClassifierConfig", "train.py", True),  # the one training loop
        ("VAEConfig", "ganmex/gan.py", False),  # another work
        ("EncoderConfig", "trains/vae.py", False),
        ("GANMEXConfig", "gan_xai/infogan.py", False),
        ("ClassifierConfig", "models/cache.py", False),  # where checkpoints are stored, not what is trained
        ("ScrabbleGANConfig", "data/digit_strings.py", True),  # its data are built by code, not fetched
        ("ScrabbleGANConfig", "gan_xai/attention.py", True),  # G's self-attention block
        ("ScrabbleGANConfig", "gan_xai/directions.py", False),  # explains G, does not train it
    ],
)
def test_editing_a_module_changes_exactly_the_keys_that_depend_on_it(config, module, changes, tmp_path, monkeypatch):
    before, after = _edited_copy_key(tmp_path, monkeypatch, TINY[config], module)
    assert (before != after) == changes


def test_the_thread_count_is_part_of_the_key():
    config = TINY["ClassifierConfig"]
    assert cache.cache_key(config, "cpu-1") != cache.cache_key(config, "cpu-2")
    assert cache.cache_key(config, "cpu-1") == cache.cache_key(config, cache.compute_tag("cpu", 1))


def test_a_model_is_reused_only_under_its_thread_count(tmp_cache):
    config = TINY["ClassifierConfig"]
    get_or_train(config, progress=False, threads=1)
    assert is_cached(config, "cpu-1") and not is_cached(config, "cpu-2")
    with pytest.raises(FileNotFoundError, match="get_or_train"):
        get_or_train(config, threads=2, train=False)
