"""A whole participant visit in a real browser (Playwright + the Chromium of genxai.browser)."""

import shutil
import sqlite3

import pytest

pytest.importorskip("uvicorn", reason="the study extra: pip install -e '.[study]'")

from helpers_study import StudyServer, make_items  # noqa: E402

from genxai.study.items import load_spec  # noqa: E402

# functions, not expression strings: the page's Content-Security-Policy forbids eval of strings
ALL_GIFS_SHOWN = "() => [...document.querySelectorAll('img.anim')].every(i => i.complete && i.naturalWidth > 0)"


@pytest.fixture
def server(tmp_path):
    items = make_items(tmp_path / "items")
    s = StudyServer(items, tmp_path / "study.db", tmp_path / "server.log").start()
    yield s
    s.stop()


def _shot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    return path


def test_participant_visit(chromium, server, tmp_path):
    page = chromium
    spec = load_spec(server.items)
    page.goto(server.url + "/")
    assert page.title() == spec.title
    assert page.is_disabled("#start")
    _shot(page, tmp_path, "consent")
    page.check("#agree")
    page.click("#start")
    page.wait_for_url("**/study")
    page.wait_for_selector("main[data-question]")
    total = int(page.text_content("#progress-text").split("/")[1])
    given: dict[str, str] = {}
    shots = set()
    reloaded = restarted = down = False
    while True:
        # the next question, or the thanks page once the last answer is confirmed
        page.wait_for_function(
            "() => document.location.pathname === '/thanks' || document.querySelector('main[data-question]') !== null"
        )
        if page.url.endswith("/thanks"):
            break
        qid = page.get_attribute("main", "data-question")
        assert qid not in given, f"question {qid} shown again after it was answered"
        page.wait_for_function(ALL_GIFS_SHOWN)
        if len(given) == 1 and not restarted:  # kill -9 the server before the second answer
            page.wait_for_function("() => document.getElementById('status').textContent === ''")
            server.kill()
            restarted = down = True
            errors_before = len(page.errors)
        widths = page.eval_on_selector_all("img.anim", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and min(widths) > 0
        if page.query_selector("button.choice"):
            assert len(widths) == 5  # two examples of A, two of B, the one to classify
            if "classification" not in shots:
                shots.add("classification") or _shot(page, tmp_path, "classification")
            button = page.query_selector_all("button.choice")[len(given) % 2]
            given[qid] = button.get_attribute("data-attribute")
            button.click()
        else:
            assert len(widths) == 4
            text = ["bigger shape", "moves left", "brighter", "stretches sideways", "goes down"][len(given) % 5]
            page.fill("#description", text)
            if "verbal" not in shots:
                shots.add("verbal") or _shot(page, tmp_path, "verbal")
            given[qid] = text
            page.press("#description", "Enter")
        if down:  # the answer was given while the server was dead: it waits in the browser, then arrives
            page.wait_for_function("() => document.getElementById('status').textContent.includes('cannot be reached')")
            server.start(port=server.port)
            page.wait_for_function("() => document.getElementById('status').textContent === ''", timeout=30000)
            with sqlite3.connect(server.db) as conn:
                assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2
            # the only console errors of the downtime are the requests that could not reach the server
            assert all("Failed to load resource" in e for e in page.errors[errors_before:]), page.errors
            del page.errors[errors_before:]
            down = False
        if len(given) == 3 and not reloaded:  # a reload mid-study: the visit resumes at question 4
            reloaded = True
            page.reload()
            page.wait_for_selector("main[data-question]")
            assert page.text_content("#progress-text") == f"3 / {total}"
        page.wait_for_function(
            "q => document.location.pathname === '/thanks' || "
            "(document.querySelector('main').dataset.question || '') !== q",
            arg=qid,
        )
    assert page.text_content("h1") == "Thank you!"
    _shot(page, tmp_path, "thanks")
    assert len(given) == total and reloaded and restarted
    assert page.errors == []
    with sqlite3.connect(server.db) as conn:
        ((pid, completed),) = conn.execute("SELECT id, completed_at FROM participants").fetchall()
        stored = {
            q: v.strip('"') for q, v in conn.execute("SELECT question, value FROM answers WHERE participant=?", (pid,))
        }
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert completed and stored == given
    # a second visit of the same browser is told it has already taken part
    page.goto(server.url + "/")
    assert page.is_visible("#done") and not page.is_visible("#start")
    keep = tmp_path.parent / "study-screenshots"
    keep.mkdir(exist_ok=True)
    for name in ("consent", "classification", "verbal", "thanks"):
        shutil.copy(tmp_path / f"{name}.png", keep / f"{name}.png")
