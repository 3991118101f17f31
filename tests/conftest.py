"""Shared test set-up.

* nbval: outputs that legitimately vary (stderr, HTML, widget views, pictures) are not
  compared; timings and addresses are sanitised by ``nbval_sanitize.cfg``.
* ``tmp_genxai`` redirects every genxai path into a temporary folder.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += (
            "stderr",
            "text/html",
            "image/png",
            "image/jpeg",
            "application/vnd.jupyter.widget-view+json",
            "application/vnd.jupyter.widget-state+json",
        )


@pytest.fixture
def tmp_genxai(tmp_path, monkeypatch):
    """A private GENXAI data/cache/results tree (the repository root is unchanged)."""
    for var, sub in (
        ("GENXAI_DATA_DIR", "data"),
        ("GENXAI_CACHE_DIR", "data/cache"),
        ("GENXAI_RESULTS_DIR", "results"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


# --------------------------------------------------------------------------- browser tests
@pytest.fixture(scope="session")
def chromium_executable():
    """A Chromium for Playwright (fetched from Debian on first use, see genxai.browser); skips if none."""
    from genxai import browser

    path = browser.chromium_path(fetch=True)
    if path is None:
        pytest.skip(f"browser test skipped, no Chromium could be obtained: {browser.last_error()}")
    return path


@pytest.fixture(scope="module")
def chromium_browser(chromium_executable):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the `test` extra)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_executable), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chromium(chromium_browser):
    """A fresh headless page; ``page.errors`` collects console errors and uncaught page exceptions."""
    context = chromium_browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
