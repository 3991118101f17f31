"""LPIPS(AlexNet) from user files in the official key layout: a metric on images, clear errors, StylEx's paper loss."""

from __future__ import annotations

import pytest
import torch
from helpers_stylex import TINY_STYLEX
from helpers_stylex import official_lpips_files as official_files

from genxai.stylex import lpips as L
from genxai.stylex.model import StylExConfig, _lpips_net, minmax
from genxai.train import fit_config

torch.set_num_threads(1)


@pytest.fixture
def weights(tmp_path, monkeypatch):
    folder = official_files(tmp_path / "lpips")
    monkeypatch.setattr(L, "weights_dir", lambda: folder)
    return folder


def test_lpips_is_a_symmetric_premetric_differentiable_in_its_inputs(weights):
    net = L.from_files()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    y = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    d = net(x, y)
    assert d.shape == (4,) and (d > 0).all()
    assert torch.allclose(d, net(y, x))
    assert net(x, x).abs().max() < 1e-6
    # a small perturbation is closer than an unrelated image
    assert (net(x, x + 0.05 * torch.randn(x.shape, generator=g)) < d).all()
    xg = x.clone().requires_grad_(True)
    net(xg, y).sum().backward()
    assert xg.grad is not None and xg.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())
    grey = x[:, :1]
    assert torch.allclose(net(grey, y[:, :1]), net(grey.expand(-1, 3, -1, -1), y[:, :1].expand(-1, 3, -1, -1)))


def test_lpips_matches_its_definition_on_the_loaded_weights(weights):
    """Eq. 1 computed by hand from the two files, with plain functional ops."""
    net = L.from_files()
    trunk = torch.load(weights / L.TRUNK_FILE, weights_only=True)
    linear = torch.load(weights / L.LINEAR_FILE, weights_only=True)
    x, y = torch.rand(2, 2, 3, 40, 40).mul(2).sub(1)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def feats(img):
        h = (img - shift) / scale
        conv = torch.nn.functional.conv2d
        out = []
        layers = ((0, 4, 2, True), (3, 1, 2, True), (6, 1, 1, False), (8, 1, 1, False), (10, 1, 1, False))
        for i, stride, pad, pool in layers:
            h = torch.relu(conv(h, trunk[f"features.{i}.weight"], trunk[f"features.{i}.bias"], stride, pad))
            out.append(h)
            if pool:
                h = torch.nn.functional.max_pool2d(h, 3, 2)
        return out

    want = 0
    for i, (fx, fy) in enumerate(zip(feats(x), feats(y))):
        nx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        ny = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        w = linear[f"lin{i}.model.1.weight"].view(1, -1, 1, 1)
        want = want + (w * (nx - ny) ** 2).sum(1).mean((1, 2))
    assert torch.allclose(net(x, y), want, rtol=1e-4, atol=1e-7)


def test_bad_or_missing_weight_files_name_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(L, "weights_dir", lambda: tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="alexnet-owt-7be5be79.pth"):
        L.from_files()
    with pytest.raises(FileNotFoundError, match="perceptual='classifier'"):
        StylExConfig(perceptual="lpips")
    folder = official_files(tmp_path / "bad")
    linear = torch.load(folder / L.LINEAR_FILE, weights_only=True)
    torch.save({k: v for k, v in linear.items() if k != "lin3.model.1.weight"}, folder / L.LINEAR_FILE)
    with pytest.raises(KeyError, match="lin3.model.1.weight"):
        L.from_files(folder)
    torch.save({**linear, "lin0.model.1.weight": -linear["lin0.model.1.weight"]}, folder / L.LINEAR_FILE)
    with pytest.raises(ValueError, match="non-negative"):
        L.from_files(folder)
    (folder / L.TRUNK_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable PyTorch state dict"):
        L.from_files(folder)
    torch.save([1, 2], folder / L.TRUNK_FILE)
    with pytest.raises(ValueError, match="not a state dict"):
        L.from_files(folder)
    with pytest.raises(ValueError, match="at least 32x32"):
        L.LPIPS()(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="unknown perceptual term"):
        StylExConfig(perceptual="vgg")


def test_the_weights_key_the_stylex_cache_and_a_swap_is_refused(weights):
    a = StylExConfig(perceptual="lpips")
    assert a.lpips_digest == L.weights_digest() and StylExConfig.from_dict(a.to_dict()) == a
    assert a.lpips_digest != StylExConfig().lpips_digest
    official_files(weights, seed=1)  # the user replaces the files
    b = StylExConfig(perceptual="lpips")
    assert b.lpips_digest != a.lpips_digest
    with pytest.raises(ValueError, match="changed since this config was made"):
        _lpips_net(a.lpips_digest)


def test_minmax_spans_minus_one_to_one_per_image():
    x = torch.stack([torch.linspace(0.2, 0.4, 16).view(1, 4, 4), torch.linspace(-1, 0, 16).view(1, 4, 4)])
    y = minmax(x)
    assert torch.allclose(y.amin((1, 2, 3)), torch.tensor([-1.0, -1.0]))
    assert torch.allclose(y.amax((1, 2, 3)), torch.tensor([1.0, 1.0]))


def test_a_stylex_with_the_lpips_term_trains_with_finite_losses(weights, tmp_path, monkeypatch):
    from genxai.stylex.model import PairClassifierConfig

    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "cache"))
    clf = PairClassifierConfig(n_train=64, epochs=1, batch_size=32, width=4, size=32)
    config = StylExConfig(classifier=clf, perceptual="lpips", **TINY_STYLEX)
    _, result = fit_config(config, torch.device("cpu"), tmp_path / "s.pt", progress=False)
    logs = result["history"][0]
    assert all(torch.isfinite(torch.tensor(v)) for k, v in logs.items() if isinstance(v, float))
    assert logs["rec"] > 0
