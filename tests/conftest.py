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
