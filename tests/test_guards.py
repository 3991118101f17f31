"""One input guard: every public entry point taking a classifier or images refuses softmax outputs and
[0, 255] pixels with the fix, and warns on [0, 1] batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genxai import guards
from genxai.ganchors.explain import AnchorImage, independent_precision
from genxai.ganmex import attribution
from genxai.models import predict_logits
from genxai.trains import frontier


def _logits_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))


def _softmax_model():
    return nn.Sequential(*_logits_model(), nn.Softmax(1))


def _images():
    torch.manual_seed(1)
    return torch.rand(4, 1, 8, 8) * 2 - 1


#: Every public entry point that takes a classifier and images: f(model, images).
ENTRY_POINTS = {
    "attribution.attribute ig": lambda m, x: attribution.attribute("ig", m, x, 0, torch.full_like(x, -1.0), n_steps=4),
    "attribution.attribute occlusion": lambda m, x: attribution.attribute("occlusion", m, x, 0, torch.zeros_like(x)),
    "attribution.explain": lambda m, x: attribution.explain("deeplift", "zero", m, x, 0, 1),
    "attribution.expected_gradients": lambda m, x: attribution.expected_gradients(
        m, x, 0, 1, (torch.rand(12, 1, 8, 8) * 2 - 1, torch.arange(12) % 3), n_samples=2
    ),
    "ganchors AnchorImage.explain": lambda m, x: AnchorImage(m, sampler=None).explain(x[0]),
    "ganchors independent_precision": lambda m, x: independent_precision(m, None, x[0], None, [0], 0),
    "trains frontier.traversal": lambda m, x: frontier.traversal(
        lambda z: z.view(-1, 1, 8, 8), m, x.flatten(1)[:2], x.flatten(1)[2:], 0, steps=3
    ),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_softmax_classifiers_are_refused_with_the_fix(entry):
    with pytest.raises(ValueError, match="returns probabilities.*remove the final softmax"):
        ENTRY_POINTS[entry](_softmax_model(), _images())


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_0_255_images_are_refused_naming_from_uint8(entry):
    pixels = (_images() + 1) * 127.5
    with pytest.raises(ValueError, match=r"\[0, 255\].*genxai\.data\.from_uint8"):
        ENTRY_POINTS[entry](_logits_model(), pixels)


@pytest.mark.parametrize("entry", [e for e in sorted(ENTRY_POINTS) if e.startswith("attribution")])
def test_attribution_entry_points_accept_logits_in_range(entry):
    x = _images()
    out = ENTRY_POINTS[entry](_logits_model(), x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_a_0_1_batch_warns_naming_from_unit():
    with pytest.warns(guards.UnitRangeWarning, match="genxai.data.from_unit"):
        attribution.attribute("deeplift", _logits_model(), torch.rand(4, 1, 8, 8), 0, torch.zeros(4, 1, 8, 8))


def test_the_probe_leaves_the_model_in_its_mode_and_parameter_free_models_work():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3), nn.Dropout(0.5)).train()
    guards.ensure_logits(model, _images())
    assert model.training
    flat = nn.Flatten()  # no parameters: the device falls back to the CPU
    assert predict_logits(flat, _images()).shape == (4, 64)
