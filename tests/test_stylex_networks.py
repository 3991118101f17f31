"""StyleGAN2-style generator with an explicit StyleSpace, discriminator, encoder, R1."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genxai.stylex.networks import Discriminator, Encoder, ModulatedConv2d, StyleGenerator, r1_penalty

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    g = StyleGenerator(16, w_dim=10, capacity=2, fmap_max=16, img_channels=1)
    with torch.no_grad():  # non-zero noise strengths and biases so every layer matters
        for layer in g.convs:
            layer.noise_strength.normal_()
    return g.eval()


def test_output_shape_and_stylespace_layout(G):
    w = torch.randn(3, 10)
    assert G(w).shape == (3, 1, 16, 16)
    assert StyleGenerator(32, 10, 2, 16, img_channels=3)(w).shape == (3, 3, 32, 32)
    styles = G.styles(w)
    assert [s.shape[1] for s in styles[: len(G.style_dims)]] == G.style_dims
    assert G.flatten(styles).shape == (3, G.n_coords) == (3, sum(G.style_dims))
    # the flat index walks the layers in order
    assert G.coord_to_layer(0) == (0, 0)
    assert G.coord_to_layer(G.style_dims[0]) == (1, 0)
    assert G.coord_to_layer(G.n_coords - 1) == (len(G.style_dims) - 1, G.style_dims[-1] - 1)
    with pytest.raises(IndexError, match="out of range"):
        G.coord_to_layer(G.n_coords)


def test_shifting_a_style_coordinate_changes_the_image_and_a_zero_shift_nothing(G):
    w = torch.randn(2, 10)
    noise = G.make_noise(1, torch.Generator().manual_seed(1))
    styles = G.styles(w)
    base = G.synthesize(styles, noise)
    assert torch.equal(G(w, noise), base)
    flat = G.flatten(styles)
    assert torch.equal(G.synthesize(G.unflatten(flat + 0.0, styles), noise), base)
    for i in (0, G.style_dims[0] + 1, G.n_coords - 1):  # first layer, second layer, last layer
        shifted = flat.clone()
        shifted[:, i] += 2.0
        out = G.synthesize(G.unflatten(shifted, styles), noise)
        assert (out - base).abs().amax() > 1e-4, i


def test_noise_is_per_pixel_and_used(G):
    w = torch.randn(1, 10)
    a = G(w, G.make_noise(1, torch.Generator().manual_seed(1)))
    b = G(w, G.make_noise(1, torch.Generator().manual_seed(2)))
    assert not torch.allclose(a, b)


def test_demodulation_gives_unit_norm_per_output_channel():
    conv = ModulatedConv2d(5, 7, 3)
    style = torch.rand(4, 5) * 3 + 0.1
    w = conv.modulated_weight(style)
    norms = w.pow(2).sum((2, 3, 4)).sqrt()
    assert torch.allclose(norms, torch.ones(4, 7), atol=1e-4)
    # without demodulation the norms follow the style
    conv_rgb = ModulatedConv2d(5, 7, 1, demodulate=False)
    assert not torch.allclose(conv_rgb.modulated_weight(style).pow(2).sum((2, 3, 4)).sqrt(), torch.ones(4, 7))


def test_grouped_conv_equals_per_sample_conv():
    conv = ModulatedConv2d(3, 4, 3)
    x, style = torch.randn(5, 3, 8, 8), torch.rand(5, 3) + 0.5
    batched = conv(x, style)
    single = torch.cat([conv(x[i : i + 1], style[i : i + 1]) for i in range(5)])
    assert torch.allclose(batched, single, atol=1e-5)


def test_r1_is_zero_for_a_constant_discriminator_and_positive_for_ours():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Parameter(torch.tensor(0.3))

        def forward(self, x):
            return self.c.expand(len(x)) + 0 * x.detach().sum((1, 2, 3))

    real = torch.randn(4, 1, 16, 16, requires_grad=True)
    assert r1_penalty(Constant()(real), real).item() == 0.0
    D = Discriminator(16, capacity=2, fmap_max=16)
    real = torch.randn(4, 1, 16, 16, requires_grad=True)
    assert r1_penalty(D(real), real).item() > 0


def test_discriminator_and_encoder_shapes_and_conditioning():
    x = torch.randn(3, 1, 16, 16)
    assert Discriminator(16, 2, 16)(x).shape == (3,)
    Dc = Discriminator(16, 2, 16, n_classes=2)
    p = torch.tensor([[1.0, 0.0]] * 3)
    raw = super(Discriminator, Dc).forward(x)
    assert torch.allclose(Dc(x, p), raw[:, 0])
    with pytest.raises(ValueError, match="probabilities"):
        Dc(x)
    assert Encoder(16, 6, 2, 16)(x).shape == (3, 6)


def test_the_batched_modulated_conv_equals_convolving_with_the_modulated_weight():
    import torch.nn.functional as F

    for demod in (True, False):
        conv = ModulatedConv2d(3, 4, 3 if demod else 1, demodulate=demod)
        x, style = torch.randn(5, 3, 8, 8), torch.rand(5, 3) + 0.5
        w = conv.modulated_weight(style)
        ref = torch.cat([F.conv2d(x[i : i + 1], w[i], padding=conv.kernel // 2) for i in range(5)])
        assert torch.allclose(conv(x, style), ref, atol=1e-5)
