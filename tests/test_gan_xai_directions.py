"""Latent-direction discovery, direction effects, conditioning accuracy and the latent explorer,
on toy generators (any object following genxai.gan_xai.protocol works)."""

from typing import Any

import pytest
import torch
from torch import nn

from genxai.explorer import LatentExplorer
from genxai.gan_xai import (
    Deformator,
    DirectionConfig,
    DirectionModel,
    GANConfig,
    Reconstructor,
    conditioning_accuracy,
    direction_accuracy,
    direction_effects,
    discovery_step,
    sample_shifts,
    shifted_grid,
    summarize_effects,
)

torch.set_num_threads(1)


class BlobGenerator(nn.Module):
    """A toy latent generator: z_i sets the brightness of blob i of an 8x8 image."""

    def __init__(self, latent_dim: int = 4):
        super().__init__()
        self.latent_dim = latent_dim
        masks = torch.zeros(latent_dim, 8, 8)
        for i in range(latent_dim):
            masks[i, (i // 2) * 4 : (i // 2) * 4 + 4, (i % 2) * 4 : (i % 2) * 4 + 4] = 1.0
        self.register_buffer("masks", masks)

    def sample_latent(self, n: int, generator=None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator)

    def sample_condition(self, n: int, generator=None) -> dict[str, Any]:
        return {}

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.5 * torch.einsum("nk,khw->nhw", z, self.masks))[:, None]


class SignClassifier(nn.Module):
    """Label 1 when the top-left blob is bright, else 0 (so latent axis 0 is 'content')."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))  # predict_logits reads the device from a parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x[:, 0, :4, :4].mean((1, 2))
        return torch.stack([-s, s], 1) * 10


def test_orthogonal_deformator_has_orthonormal_directions():
    torch.manual_seed(0)
    A = Deformator(12, 5, "ortho")
    D = A.directions()
    assert D.shape == (5, 12)
    assert torch.allclose(D @ D.T, torch.eye(5), atol=1e-5)
    shift = A(torch.tensor([2, 4]), torch.tensor([3.0, -1.5]))
    assert torch.allclose(shift, torch.stack([3.0 * D[2], -1.5 * D[4]]), atol=1e-5)
    with pytest.raises(ValueError, match="at most"):
        Deformator(4, 5, "ortho")
    lin = Deformator(4, 6, "linear", random_init=False)
    assert lin.directions().shape == (6, 4)
    with pytest.raises(ValueError, match="unknown"):
        Deformator(4, 2, "fc")


def test_shifts_honour_their_range():
    k, eps = sample_shifts(5000, 7, 6.0, 0.5, torch.Generator().manual_seed(0))
    assert k.min() == 0 and k.max() == 6
    assert eps.abs().min() >= 0.5 and eps.abs().max() <= 6.0
    assert (eps > 0).float().mean().item() == pytest.approx(0.5, abs=0.05)


def test_discovery_learns_distinguishable_directions_on_a_toy_generator():
    torch.manual_seed(0)
    G = BlobGenerator(4)
    model = DirectionModel(Deformator(4, 4, "ortho"), Reconstructor(4, width=8, hidden=32))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    before = direction_accuracy(G, model, 4, 64, 3.0, 0.5, torch.Generator().manual_seed(1))["accuracy"]
    A0 = model.deformator.directions().clone()
    for _ in range(250):
        discovery_step(G, model, opt, 32, 3.0, 0.5, 0.25, gen)
    acc = direction_accuracy(G, model, 4, 64, 3.0, 0.5, torch.Generator().manual_seed(1))
    assert acc["chance"] == 0.25
    assert acc["accuracy"] > 0.8 and acc["accuracy"] > before + 0.2
    assert not torch.allclose(model.deformator.directions(), A0)  # A is trained, not only R
    D = model.deformator.directions()
    assert torch.allclose(D @ D.T, torch.eye(4), atol=1e-4)


def test_direction_effects_tell_content_from_style():
    G, clf = BlobGenerator(4), SignClassifier()
    dirs = torch.eye(4)[:2]  # axis 0: flips the label; axis 1: never
    eff = direction_effects(G, dirs, clf, shift=6.0, n=200, generator=torch.Generator().manual_seed(0))
    assert eff[0]["kind"] == "content" and eff[0]["label_change"] > 0.45  # one sign of the shift flips it
    assert eff[1]["kind"] == "style" and eff[1]["label_change"] == 0.0
    assert eff[1]["pixel_change"] > 0.05  # style directions still move pixels
    s = summarize_effects(eff)
    assert s["n_content"] == 1 and s["n_style"] == 1


def test_shifted_grid_moves_along_one_direction():
    G = BlobGenerator(4)
    z = torch.zeros(2, 4)
    grid = shifted_grid(G, torch.tensor([0.0, 1.0, 0.0, 0.0]), z, torch.tensor([-2.0, 0.0, 2.0]))
    assert grid.shape == (2, 3, 1, 8, 8)
    assert grid[0, 2, 0, 0, 5] > 0 > grid[0, 0, 0, 0, 5] and grid[0, 1].abs().max() == 0
    assert grid[0, 2, 0, 0, 0] == 0  # blob 0 untouched


class LabelPainter(nn.Module):
    """A toy conditional generator that writes its label into the image."""

    latent_dim = 3

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z, labels):
        x = -torch.ones(len(z), 1, 28, 28)
        x[torch.arange(len(z)), 0, 0, labels] = 1.0
        return x


class LabelReader(nn.Module):
    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x[:, 0, 0, :10] * 5


def test_conditioning_accuracy_counts_requested_labels():
    out = conditioning_accuracy(LabelPainter(), LabelReader(), n_per_class=3)
    assert out["accuracy"] == 1.0 and len(out["per_class"]) == 10


def test_explorer_callbacks_update_image_and_prediction():
    G, clf = BlobGenerator(4), SignClassifier()
    ex = LatentExplorer.for_generator(
        G,
        torch.eye(4)[:2],
        clf,
        z=torch.tensor([-1.0, 0.0, 0.0, 0.0]),
        class_names=["dark", "bright"],
        names=["content", "style"],
        span=6.0,
    )
    assert ex.prediction == 0 and "dark" in ex.label()
    ex.set_shift(0, 3.0)  # move along the content axis
    assert torch.allclose(ex.image, G(torch.tensor([[2.0, 0.0, 0.0, 0.0]]))[0])
    assert ex.prediction == 1 and "bright" in ex.label()
    ex.set_shift(1, -2.0)
    assert torch.allclose(ex.latent(), torch.tensor([[2.0, -2.0, 0.0, 0.0]]))
    ex.reset()
    assert ex.prediction == 0 and ex.shifts.abs().sum() == 0
    # the ipywidgets wiring: moving a slider runs the same callback (no browser needed)
    png_before = ex.image_view.value
    ex.sliders[0].value = 4.0
    assert ex.shifts[0] == 4.0 and ex.prediction == 1
    assert ex.image_view.value != png_before and "bright" in ex.label_view.value
    assert ex.button is None and [s.description for s in ex.sliders] == ["content", "style"]


def test_direction_config_cache_key_covers_the_generator():
    cfg = DirectionConfig(generator=GANConfig(conditional=True, latent_dim=8), n_directions=3)
    names = {p.name for p in cfg.code_files()}
    assert {"directions.py", "gan.py", "attention.py"} <= names
    model = cfg.build()
    assert model.deformator.directions().shape == (3, 8)


def test_conditioning_accuracy_detects_a_wrong_conditioning():
    class Shifted(LabelReader):
        def forward(self, x):
            return LabelReader()(x).roll(1, 1)

    assert conditioning_accuracy(LabelPainter(), Shifted(), n_per_class=3)["accuracy"] == 0.0
