"""The scrabblegan profiles build valid configs; the smoke GAN runs end to end and writes (B, 1, 32, 16n)."""

from __future__ import annotations

import pytest

from genxai import profiles
from genxai.scrabblegan import RecogniserConfig, ScrabbleGANConfig


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_profile_gives_valid_configs(profile):
    P = profiles.get("scrabblegan", profile)
    gan = ScrabbleGANConfig(**P.gan)
    model = gan.build() if profile == "smoke" else None
    for key in ("recogniser", "hand_recogniser"):
        assert RecogniserConfig(**P[key]).seed != gan.seed  # the judge is independent of the GAN
    assert gan.z_dim % 4 == 0 and P.directions["n_directions"] <= gan.z_dim
    if model is not None:
        x = model.G(model.G.sample_latent(2), text=["123", "456"])
        assert x.shape == (2, 1, 32, 48)


def test_paper_profile_uses_the_official_sizes():
    gan = profiles.get("scrabblegan", "paper").gan
    assert (gan["z_dim"], gan["g_ch"], gan["d_ch"], gan["batch_size"], gan["g_every"]) == (128, 64, 64, 8, 4)
    assert gan["dataset"] == "iam"
