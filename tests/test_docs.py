"""The user documentation: links that resolve, a short README, a page per work that maps every committed figure."""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import unquote, urlsplit

import pytest

from genxai import gallery, paths

ROOT = paths.root()
DOCS = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "studies").glob("*.md")),
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _works() -> list[str]:
    return [d.name for d in gallery.work_dirs(paths.results_root())]


@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(ROOT).as_posix() for d in DOCS])
def test_relative_links_resolve(doc):
    assert doc.is_file()
    for target in LINK.findall(doc.read_text()):
        parts = urlsplit(target)
        if parts.scheme or not parts.path:
            continue
        assert (doc.parent / unquote(parts.path)).exists(), f"{doc.name}: broken link {target}"


def test_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, "the README is a landing page: move details to docs/<work>.md or studies/<work>.md"
    text = "\n".join(lines)
    for work in _works():
        assert f"docs/{work}.md" in text, f"the README's status table should link docs/{work}.md"


@pytest.mark.parametrize("work", _works())
def test_work_page_maps_every_committed_figure(work):
    page = ROOT / "docs" / f"{work}.md"
    assert page.is_file(), f"add docs/{work}.md (figure map, deviations, how to read the numbers)"
    # file names in backticks, with * standing for the data-set suffixes (`fig00_dcgan_samples_*`)
    named = [t.split(".")[0] for t in re.findall(r"`([A-Za-z0-9_*.{},]+)`", page.read_text())]
    for png in sorted((paths.results_root() / work).glob("*.png")):
        assert any(fnmatch.fnmatchcase(png.stem, pattern) for pattern in named), (
            f"docs/{work}.md: the figure map does not name {png.name}"
        )
    assert f"studies/{work}.md" in page.read_text() or not (ROOT / "studies" / f"{work}.md").exists()


def test_caption_files_point_to_existing_pages():
    for work in _works():
        page = gallery.load_captions(work)["page"]
        assert page and (ROOT / page).is_file(), f"captions/{work}.json: page {page!r} does not exist"
