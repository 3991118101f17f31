"""The test browser (genxai.browser + the ``chromium`` fixture) renders a page with an image."""

import base64
import io

import numpy as np
from PIL import Image

from genxai import browser


def _png_data_url(width=40, height=30, colour=(220, 20, 20)):
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_chromium_path_prefers_environment(monkeypatch, tmp_path):
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GENXAI_CHROMIUM", str(fake))
    assert browser.chromium_path(fetch=False) == fake
    monkeypatch.setenv("GENXAI_CHROMIUM", str(tmp_path / "absent"))
    assert browser.chromium_path(fetch=False) is None
    assert "GENXAI_CHROMIUM" in browser.last_error()


def test_policy_names():
    assert browser._policy_name("libopus.so.0") == "libopus0"
    assert browser._policy_name("libopenh264.so.7") == "libopenh264-7"
    assert browser._policy_name("libXNVCtrl.so.0") == "libxnvctrl0"


def test_page_shows_inline_png(chromium, tmp_path):
    html = tmp_path / "page.html"
    html.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>t</title></head>
<body style="margin:0;background:#fff"><img id="im" src="{_png_data_url()}" width="80" height="60"></body></html>""")
    chromium.goto(html.as_uri())
    chromium.wait_for_function("document.getElementById('im').complete")
    assert chromium.evaluate("document.getElementById('im').naturalWidth") == 40
    assert chromium.evaluate("document.getElementById('im').naturalHeight") == 30
    shot = tmp_path / "shot.png"
    chromium.screenshot(path=str(shot))
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # the image's colour is drawn where the image is, and the white page elsewhere
    assert np.abs(pixels[30, 40] - [220, 20, 20]).max() <= 3
    assert (pixels[300, 500] == 255).all()
    assert chromium.errors == []


def test_console_errors_are_collected(chromium, tmp_path):
    html = tmp_path / "bad.html"
    html.write_text("<!doctype html><script>console.error('boom'); undefinedFunction();</script>")
    chromium.goto(html.as_uri())
    assert any("boom" in e for e in chromium.errors)
    assert any("undefinedFunction" in e for e in chromium.errors)
