"""A Chromium for browser tests that needs no root and no browser CDN.

:func:`chromium_path` returns an executable that Python Playwright can launch with
``chromium.launch(executable_path=...)``.  It looks, in order, at

1. ``$GENXAI_CHROMIUM`` (any Chromium/Chrome executable you choose),
2. a system ``chromium-headless-shell`` / ``chromium`` / ``chromium-browser`` on ``PATH``,
3. a copy already unpacked under ``data/raw/chromium/`` (``genxai.paths.raw_dir("chromium")``),
4. and otherwise fetches Debian's ``chromium-headless-shell`` with ``apt-get download`` + ``dpkg -x``
   (like Fashion-MNIST), together with the Debian packages of the shared libraries this machine
   lacks, and writes a small wrapper script that points ``LD_LIBRARY_PATH`` at them.

``playwright install`` is never used: it downloads browsers from a CDN that CI machines cannot reach.
Nothing here raises when no Chromium can be had; :func:`chromium_path` returns ``None`` and
:func:`last_error` says why, so a test can skip with that message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from . import paths
from .data.fetch import FetchError
from .repro import write_text

#: Executables looked for on PATH, most suitable first (the headless shell is what Playwright
#: itself uses for headless runs).
SYSTEM_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")

DEB_PACKAGE = "chromium-headless-shell"
#: The headless shell's data files (ICU tables, V8 snapshots, SwiftShader) live in chromium-common.
DEB_BINARY = Path("usr/lib/chromium/chromium-headless-shell")
WRAPPER_NAME = "chromium-headless-shell"

_last_error: str | None = None


def last_error() -> str | None:
    """Why the last :func:`chromium_path` call returned ``None`` (``None`` if it did not)."""
    return _last_error


def install_dir() -> Path:
    return paths.raw_dir("chromium")


def _runs(executable: str | os.PathLike) -> bool:
    """Whether ``executable --version`` works (catches stubs such as Ubuntu's snap placeholder)."""
    try:
        proc = subprocess.run([str(executable), "--version"], check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and "chrom" in (proc.stdout + proc.stderr).lower()


def chromium_path(fetch: bool = True, quiet: bool = True) -> Path | None:
    """A Chromium executable for ``playwright.chromium.launch(executable_path=...)``, or ``None``."""
    global _last_error
    _last_error = None
    env = os.environ.get("GENXAI_CHROMIUM")
    if env:
        path = Path(env).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        _last_error = f"GENXAI_CHROMIUM={env} is not an executable file: point it at a Chromium or unset it"
        return None
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found and _runs(found):
            return Path(found)
    wrapper = install_dir() / WRAPPER_NAME
    if wrapper.exists():
        return wrapper
    if not fetch:
        _last_error = f"no Chromium on PATH or in {install_dir()} and fetching was not asked for"
        return None
    try:
        return fetch_chromium(quiet=quiet)
    except ChromiumFetchError as err:
        _last_error = str(err)
        return None


class ChromiumFetchError(FetchError):
    pass


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One fetch at a time (several test processes may ask for the browser at once)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _installed(packages: set[str]) -> set[str]:
    """Which of ``packages`` dpkg has installed (one dpkg-query call)."""
    if not packages:
        return set()
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\n", *sorted(packages)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {line.split()[0].split(":")[0] for line in proc.stdout.splitlines() if line.endswith("install ok installed")}


def _depends(packages: list[str]) -> dict[str, list[list[str]]]:
    """Each package's Depends/Pre-Depends as groups of alternatives (one ``apt-cache depends`` call)."""
    proc = subprocess.run(
        [
            "apt-cache",
            "depends",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            *packages,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out: dict[str, list[list[str]]] = {}
    groups: list[list[str]] = []
    current: list[str] = []
    for line in proc.stdout.splitlines():
        if not line.startswith(" "):  # a package header
            groups = out.setdefault(line.strip(), [])
            continue
        field, _, name = line.strip().partition(":")
        if field.lstrip("|") not in ("Depends", "PreDepends"):
            continue
        current.append(name.strip())
        if not field.startswith("|"):  # a leading "|" means "or the next one"
            groups.append(current)
            current = []
    return out


def _missing_packages(root_package: str) -> list[str]:
    """Packages in ``root_package``'s dependency closure that dpkg does not have installed.

    Only Chromium's own packages and shared-library packages (``lib*``) are followed: the rest
    (xdg-utils, x11-utils ...) are desktop helpers the headless shell never runs.
    """
    wanted: list[str] = []
    level = [root_package]
    while level:
        depends = _depends(level)
        groups = [g for gs in depends.values() for g in gs]
        present = _installed({n.strip("<>") for g in groups for n in g})
        level = []
        for group in groups:
            if any(n.strip("<>") in present for n in group):
                continue
            name = next((n for n in group if not n.startswith("<")), None)  # <virtual> packages
            if name is None or name in wanted or not name.startswith(("lib", "chromium")):
                continue
            wanted.append(name)
            level.append(name)
    return wanted


def _apt_download(packages: list[str], folder: Path) -> None:
    cmd = ["apt-get", "download", *packages]
    proc = subprocess.run(cmd, cwd=folder, check=False, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        # A fresh machine may have no package lists yet; refresh them once and retry.
        subprocess.run(["apt-get", "update"], check=False, capture_output=True, text=True, timeout=900)
        proc = subprocess.run(cmd, cwd=folder, check=False, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise ChromiumFetchError(
            f"`apt-get download {' '.join(packages)}` failed (try `sudo apt-get update`, "
            f"or set GENXAI_CHROMIUM to a Chromium executable):\n{proc.stderr[-2000:]}"
        )


def _library_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*.so*") if p.is_file()})


def _unresolved(root: Path, lib_dirs: list[Path]) -> set[str]:
    """Shared libraries that ``ldd`` cannot find for the binary and every unpacked library."""
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(map(str, lib_dirs)))
    missing: set[str] = set()
    for obj in [root / DEB_BINARY, *(p for d in lib_dirs for p in d.glob("*.so*") if p.is_file())]:
        proc = subprocess.run(["ldd", str(obj)], check=False, capture_output=True, text=True, env=env, timeout=60)
        missing |= set(re.findall(r"^\s*(\S+) => not found", proc.stdout, flags=re.MULTILINE))
    return missing


def _policy_name(soname: str) -> str:
    """Debian's package name for a library soname (policy 8.1): libFOO.so.N -> libfooN (libfoo-N after a digit)."""
    stem, _, version = soname.partition(".so.")
    stem = stem.lower()
    return f"{stem}-{version}" if stem[-1:].isdigit() else f"{stem}{version}"


def _write_wrapper(folder: Path, lib_dirs: list[Path], name: str) -> Path:
    rel_dirs = ":".join(f"$HERE/{d.relative_to(folder)}" for d in lib_dirs)
    text = (
        "#!/bin/sh\n"
        "# Debian's chromium-headless-shell unpacked without root by genxai.browser; the libraries\n"
        "# this machine lacked were unpacked beside it.\n"
        'HERE=$(cd "$(dirname "$0")" && pwd)\n'
        f'LD_LIBRARY_PATH="{rel_dirs}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"\n'
        "export LD_LIBRARY_PATH\n"
        f'exec "$HERE/root/{DEB_BINARY}" "$@"\n'
    )
    wrapper = folder / name
    write_text(wrapper, text)
    wrapper.chmod(0o755)
    return wrapper


def fetch_chromium(quiet: bool = False) -> Path:
    """Unpack Debian's ``chromium-headless-shell`` and the libraries it lacks into ``data/raw/chromium``.

    Returns the wrapper script; raises :class:`ChromiumFetchError` with the reason otherwise.
    """
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise ChromiumFetchError(
            "apt-get/dpkg not found (not a Debian-like system): install Chromium and put it "
            "on PATH, or set GENXAI_CHROMIUM to its executable"
        )
    folder = install_dir()
    started = time.time()
    with _locked(folder):
        wrapper = folder / WRAPPER_NAME
        if wrapper.exists():  # another process fetched it while we waited for the lock
            return wrapper
        root, debs = folder / "root", folder / "_deb"
        for tmp in (root, debs):
            shutil.rmtree(tmp, ignore_errors=True)
        debs.mkdir()
        packages = [DEB_PACKAGE, *_missing_packages(DEB_PACKAGE)]
        for attempt in range(4):
            _apt_download(packages, debs)
            for deb in sorted(debs.glob("*.deb")):
                subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True, timeout=600)
                deb.unlink()
            lib_dirs = _library_dirs(root)
            missing = _unresolved(root, lib_dirs)
            if not missing:
                break
            # The dependency list missed something: ask for the package policy names of what ldd lacks.
            packages = sorted({_policy_name(so) for so in missing})
            if attempt == 3:
                raise ChromiumFetchError(
                    f"after unpacking, these libraries are still missing: {sorted(missing)}; "
                    "install them, or set GENXAI_CHROMIUM to a working Chromium"
                )
        shutil.rmtree(debs, ignore_errors=True)
        # Checked under a temporary name: the wrapper's existence is what marks a finished fetch.
        candidate = _write_wrapper(folder, lib_dirs, f".{WRAPPER_NAME}.check")
        if not _runs(candidate):
            candidate.unlink()
            raise ChromiumFetchError(
                f"the unpacked {DEB_PACKAGE} in {folder} does not start "
                f"(`{candidate} --version` failed); set GENXAI_CHROMIUM instead"
            )
        os.replace(candidate, wrapper)
    if not quiet:
        print(f"Chromium ({DEB_PACKAGE} from Debian, {time.time() - started:.0f} s) -> {wrapper}")
    return wrapper
