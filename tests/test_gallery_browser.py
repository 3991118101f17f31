"""The results gallery in a real browser: headless Chromium (genxai.browser) driven by Playwright.

Opens the committed ``results/index.html`` from a ``file://`` URL and checks what a reader sees: every image decoded
(``naturalWidth > 0``), no console error, no request leaving the results folder, no horizontal scrolling. It saves a
screenshot of the top of the page: to a temporary folder by default, and to the committed ``results/gallery.png``
(atomically) when ``GENXAI_GALLERY_SCREENSHOT=1``, which is how the committed screenshot is refreshed after
``genxai report``.
"""

from __future__ import annotations

import os

import pytest
from PIL import Image

from genxai import gallery, paths
from genxai.repro import atomic_path

VIEWPORT = {"width": 1280, "height": 1600}
SCREENSHOT = "gallery.png"


@pytest.fixture
def gallery_page(chromium_browser):
    """The committed gallery, loaded, with the console errors and the requested URLs collected."""
    index = paths.results_root() / gallery.PAGE
    assert index.is_file(), "results/index.html is missing: run `genxai report`"
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.errors, page.requests = [], []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("request", lambda req: page.requests.append(req.url))
    page.goto(index.as_uri(), wait_until="load")
    try:
        yield page
    finally:
        context.close()


def _screenshot_path(tmp_path):
    if os.environ.get("GENXAI_GALLERY_SCREENSHOT") == "1":
        return paths.results_root() / SCREENSHOT
    return tmp_path / SCREENSHOT


def test_gallery_in_chromium(gallery_page, tmp_path):
    page = gallery_page
    root = paths.results_root()
    pngs = sorted(p.relative_to(root).as_posix() for d in gallery.work_dirs(root) for p in d.glob("*.png"))
    images = page.evaluate("""Array.from(document.images).map(i => ({
        src: i.getAttribute('src'), complete: i.complete, natural: i.naturalWidth,
        shown: i.getBoundingClientRect().width}))""")
    assert sorted(i["src"] for i in images) == pngs
    broken = [i["src"] for i in images if not i["complete"] or i["natural"] == 0]
    assert not broken, f"images that did not load: {broken}"
    assert all(i["shown"] > 100 for i in images), "every figure is drawn at a readable width"
    assert page.errors == [], page.errors
    outside = [u for u in page.requests if not u.startswith(root.as_uri() + "/")]
    assert not outside, f"the gallery requested something outside results/: {outside}"
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"], "no horizontal scrolling"
    captions = page.evaluate("Array.from(document.querySelectorAll('figcaption')).map(c => c.innerText)")
    assert len(captions) == len(pngs) and all("No caption" not in c for c in captions)

    png = page.screenshot(type="png")  # the top of the page, at the viewport's size
    out = _screenshot_path(tmp_path)
    with atomic_path(out) as tmp:
        tmp.write_bytes(png)
    with Image.open(out) as shot:
        assert shot.format == "PNG" and shot.size == (VIEWPORT["width"], VIEWPORT["height"])
        # the page is drawn, not blank: the screenshot holds many colours (text, figures, tables)
        assert len(shot.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 200
