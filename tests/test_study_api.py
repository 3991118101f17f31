"""The study app's API (Starlette TestClient): flow, idempotence, tokens, every bad input, escaping."""

import json
import shutil
import sqlite3

import pytest

pytest.importorskip("starlette", reason="the study extra: pip install -e '.[study]'")
from helpers_study import ADMIN, make_items  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from genxai.study import tokens  # noqa: E402
from genxai.study.app import MAX_BODY, MAX_TEXT, create_app  # noqa: E402
from genxai.study.export import unescape_cell  # noqa: E402
from genxai.study.items import SpecError, build_questions, load_spec, participant_plan  # noqa: E402
from genxai.study.storage import StudyDB, StudyDBError  # noqa: E402

ADMIN_H = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    return make_items(tmp_path_factory.mktemp("items"))


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "study.db"


@pytest.fixture
def client(items, db_path):
    with TestClient(create_app(items, db_path, ADMIN)) as c:
        yield c


def join(client):
    r = client.post("/api/participants", json={"consent": True})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["participant"], {"Authorization": f"Bearer {body['token']}"}


def n_answers(db_path):
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


def some_answer(q):
    return q["options"][0]["attribute"] if q["kind"] == "classification" else "bigger round shape"


def test_whole_visit_and_export(client, db_path):
    pid, h = join(client)
    state = client.get("/api/state", headers=h).json()
    assert state["participant"] == pid and state["answered"] == [] and not state["completed"]
    qs = state["questions"]
    kinds = [q["kind"] for q in qs]
    assert kinds == sorted(kinds)  # classification block, then verbal
    assert sum(q["id"] == "attention" for q in qs) == 1 and qs[0]["id"] != "attention"
    r = client.post("/api/complete", headers=h)
    assert r.status_code == 409 and "not answered" in r.json()["error"]
    for q in qs:
        r = client.post(
            "/api/answers", headers=h, json={"question": q["id"], "answer": some_answer(q), "elapsed_ms": 1500}
        )
        assert r.status_code == 200 and r.json()["status"] == "stored"
    assert client.post("/api/complete", headers=h).json()["status"] == "complete"
    state = client.get("/api/state", headers=h).json()
    assert state["completed"] and sorted(state["answered"]) == sorted(q["id"] for q in qs)
    csv_text = client.get("/api/admin/export.csv", headers=ADMIN_H).text
    lines = csv_text.strip().splitlines()
    assert len(lines) == len(qs) + 1 and lines[0].startswith("participant,seed,completed_at,position")
    summary = client.get("/api/admin/summary", headers=ADMIN_H).json()
    assert summary["participants"] == 1 and summary["completed"] == 1 and summary["answers"] == len(qs)
    assert summary["integrity"] == "ok"


def test_order_comes_from_the_recorded_seed(client, db_path):
    pid, h = join(client)
    order = [q["id"] for q in client.get("/api/state", headers=h).json()["questions"]]
    with sqlite3.connect(db_path) as conn:
        seed = conn.execute("SELECT seed FROM participants WHERE id=?", (pid,)).fetchone()[0]
    questions = StudyDB(db_path).questions()
    assert order == [e["question"] for e in participant_plan(questions, seed)]
    orders = {tuple(e["question"] for e in participant_plan(questions, s)) for s in range(20)}
    assert len(orders) > 10  # different seeds, different orders


def test_answer_is_idempotent_and_cannot_change(client, db_path):
    _, h = join(client)
    q = client.get("/api/state", headers=h).json()["questions"][0]
    first, other = q["options"][0]["attribute"], q["options"][1]["attribute"]
    body = {"question": q["id"], "answer": first, "elapsed_ms": 10}
    assert client.post("/api/answers", headers=h, json=body).json()["status"] == "stored"
    for _ in range(3):
        r = client.post("/api/answers", headers=h, json=body)
        assert r.status_code == 200 and r.json()["status"] == "duplicate"
    r = client.post("/api/answers", headers=h, json={"question": q["id"], "answer": other})
    assert r.status_code == 409 and "cannot be changed" in r.json()["error"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT value FROM answers").fetchall() == [(json.dumps(first),)]


def test_tokens(client, db_path):
    _, h = join(client)
    _, h2 = join(client)
    q = client.get("/api/state", headers=h).json()["questions"][0]
    body = {"question": q["id"], "answer": q["options"][0]["attribute"]}
    r = client.post("/api/answers", json=body)
    assert r.status_code == 401 and "Bearer" in r.json()["error"]
    token = h["Authorization"].split()[1]
    other_pid = h2["Authorization"].split()[1].split(".")[0]
    for bad in (
        token[:-2] + "xx",
        other_pid + "." + token.split(".")[1],
        "p-0000000000000000.abc",
        "nonsense",
        tokens.sign("p-0123456789abcdef", "another-secret"),
    ):
        r = client.post("/api/answers", json=body, headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 403 and "token" in r.json()["error"], bad
    # a valid signature for an id the database does not know
    secret = StudyDB(db_path).secret()
    r = client.get("/api/state", headers={"Authorization": f"Bearer {tokens.sign('p-0123456789abcdef', secret)}"})
    assert r.status_code == 403 and "unknown participant" in r.json()["error"]
    for path in ("/api/admin/summary", "/api/admin/export.csv"):
        assert client.get(path).status_code == 403
        assert client.get(path, headers=h).status_code == 403  # a participant is not admin
        assert client.get(path, headers={"Authorization": "Bearer " + ADMIN[:-1]}).status_code == 403
        assert client.get(path, headers=ADMIN_H).status_code == 200
    assert n_answers(db_path) == 0


def test_consent_is_required(client, db_path):
    for body in ({}, {"consent": False}, {"consent": "yes"}, {"consent": True, "name": "Ann"}):
        r = client.post("/api/participants", json=body)
        assert r.status_code == 422 and "consent" in r.json()["error"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0] == 0


def test_every_bad_answer_is_refused_and_nothing_written(client, db_path):
    _, h = join(client)
    qs = client.get("/api/state", headers=h).json()["questions"]
    c = next(q for q in qs if q["kind"] == "classification")
    v = next(q for q in qs if q["kind"] == "verbal")
    ok_c = c["options"][0]["attribute"]
    cases = [
        ({"question": "Z99", "answer": ok_c}, 404, "unknown question"),
        ({"question": 3, "answer": ok_c}, 422, "question id"),
        ({"answer": ok_c}, 422, "question id"),
        ({"question": c["id"], "answer": 1}, 422, "attribute ids"),
        ({"question": c["id"], "answer": "not an attribute"}, 422, "attribute ids"),
        ({"question": c["id"]}, 422, "attribute ids"),
        ({"question": v["id"], "answer": ["a", "b"]}, 422, "text answer"),
        ({"question": v["id"], "answer": "   "}, 422, "empty"),
        ({"question": v["id"], "answer": "x" * (MAX_TEXT + 1)}, 422, "longer than"),
        ({"question": c["id"], "answer": ok_c, "elapsed_ms": -1}, 422, "elapsed_ms"),
        ({"question": c["id"], "answer": ok_c, "elapsed_ms": True}, 422, "elapsed_ms"),
        ({"question": c["id"], "answer": ok_c, "elapsed_ms": "5"}, 422, "elapsed_ms"),
        ({"question": c["id"], "answer": ok_c, "participant": "p-0000000000000000"}, 422, "unknown field"),
    ]
    for body, status, words in cases:
        r = client.post("/api/answers", headers=h, json=body)
        assert r.status_code == status and words in r.json()["error"], (body, r.text)
    raw_cases = [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 422, "JSON object"),
        (json.dumps({"question": c["id"], "answer": ok_c}).encode(), "text/plain", 415, "Content-Type"),
        (b'{"question": "' + b"x" * MAX_BODY + b'"}', "application/json", 413, "too large"),
        (b"\xff\xfe", "application/json", 400, "not valid JSON"),
    ]
    for content, ctype, status, words in raw_cases:
        r = client.post("/api/answers", headers={**h, "Content-Type": ctype}, content=content)
        assert r.status_code == status and words in r.json()["error"], (content[:30], r.text)
    assert n_answers(db_path) == 0


def test_free_text_is_stored_as_text_and_escaped_where_shown(client, db_path, tmp_path, items):
    _, h = join(client)
    verbal = [q for q in client.get("/api/state", headers=h).json()["questions"] if q["kind"] == "verbal"]
    texts = ["<script>alert(1)</script>", '=HYPERLINK("http://x","y")', "  thicker   stroke "]
    for q, text in zip(verbal, texts):
        assert client.post("/api/answers", headers=h, json={"question": q["id"], "answer": text}).status_code == 200
    with sqlite3.connect(db_path) as conn:
        stored = [json.loads(v) for (v,) in conn.execute("SELECT value FROM answers ORDER BY received_at")]
    assert stored == ["<script>alert(1)</script>", '=HYPERLINK("http://x","y")', "thicker stroke"]
    csv_text = client.get("/api/admin/export.csv", headers=ADMIN_H).text
    assert "'=HYPERLINK" in csv_text and "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text
    assert unescape_cell("'=HYPERLINK(1)") == "=HYPERLINK(1)" and unescape_cell("''x") == "'x"
    # the study title is the only spec text put into a page: it is HTML-escaped there
    copy = tmp_path / "items"
    shutil.copytree(items, copy)
    spec = json.loads((copy / "items.json").read_text())
    spec["title"] = "<img src=x onerror=alert(1)> study"
    (copy / "items.json").write_text(json.dumps(spec))
    with TestClient(create_app(copy, tmp_path / "other.db", ADMIN)) as c2:
        page = c2.get("/")
    assert "&lt;img src=x onerror=alert(1)&gt; study" in page.text and "<img src=x" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_gifs_only_from_the_spec(client, items):
    spec = load_spec(items)
    item = next(iter(spec.items))
    r = client.get(f"/gif/{item}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif" and r.content[:6] == b"GIF89a"
    for bad in ("../items.json", "%2e%2e/items.json", "nope", "gifs/" + item):
        assert client.get(f"/gif/{bad}").status_code == 404


def test_database_belongs_to_one_study(items, db_path, tmp_path):
    create_app(items, db_path, ADMIN)
    copy = tmp_path / "other_items"
    shutil.copytree(items, copy)
    spec = json.loads((copy / "items.json").read_text())
    spec["seed"] = 7
    (copy / "items.json").write_text(json.dumps(spec))
    with pytest.raises(StudyDBError, match="other items"):
        create_app(copy, db_path, ADMIN)
    with pytest.raises(ValueError, match="admin_token"):
        create_app(items, tmp_path / "x.db", "short")


def _broken(items, tmp_path, edit):
    copy = tmp_path / "broken"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(items, copy)
    spec = json.loads((copy / "items.json").read_text())
    edit(spec, copy)
    (copy / "items.json").write_text(json.dumps(spec) if not isinstance(spec, str) else spec)
    return copy


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s, d: s.update(format="other/1"), "format"),
        (lambda s, d: s.update(items=[]), "no 'items'"),
        (lambda s, d: s["items"][0].pop("shift"), "has no 'shift'"),
        (lambda s, d: s["items"][0].update(shift="big"), "'shift' is 'big'"),
        (lambda s, d: s["items"][0].update(gif="../../etc/passwd"), "outside the items folder"),
        (lambda s, d: s["items"][0].update(gif="gifs/missing.gif"), "does not exist"),
        (lambda s, d: (d / "gifs" / "fake.gif").write_text("PNG"), None),
        (lambda s, d: s["items"].__setitem__(1, dict(s["items"][0])), "appears twice"),
        (lambda s, d: s["items"][0].update(group="elsewhere"), "belongs to one data set"),
        (
            lambda s, d: s.update(
                items=[i for i in s["items"] if i["attribute"] != "size"]
                + [i for i in s["items"] if i["attribute"] == "size"][:2]
            ),
            "'size' has 2 animation",
        ),
        (lambda s, d: s.update(seed="x"), "seed"),
    ],
)
def test_spec_errors_name_the_problem(items, tmp_path, edit, message):
    folder = _broken(items, tmp_path, edit)
    if message is None:  # a file that is not a GIF
        spec = json.loads((folder / "items.json").read_text())
        spec["items"][0]["gif"] = "gifs/fake.gif"
        (folder / "items.json").write_text(json.dumps(spec))
        message = "not a GIF"
    with pytest.raises(SpecError, match=message):
        load_spec(folder)


def test_spec_missing_or_not_json(tmp_path, items):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nowhere")
    folder = _broken(items, tmp_path, lambda s, d: None)
    (folder / "items.json").write_text("{oops")
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(folder)


def test_questions_are_well_formed(items):
    spec = load_spec(items)
    questions = build_questions(spec)
    assert build_questions(spec) == questions  # deterministic
    cls = [q for q in questions if q.kind == "classification"]
    verbal = [q for q in questions if q.kind == "verbal"]
    n_attrs = sum(len(a) for a in spec.attributes.values())
    assert len(cls) == n_attrs + 1 and len(verbal) == n_attrs
    for q in cls:
        x, y = q.attributes
        assert x != y and spec.items[q.query].attribute == q.truth and q.truth in (x, y)
        assert all(spec.items[i].attribute == a for a in (x, y) for i in q.examples[a])
        assert all(spec.items[i].group == q.group for i in q.item_ids())
        assert (q.query in q.examples[q.truth]) == q.attention


def test_cli_export_analyse_and_bad_items(client, db_path, items, tmp_path, capsys):
    from genxai.cli import main

    _, h = join(client)
    truth = {q.id: q.truth for q in StudyDB(db_path).questions()}
    for q in client.get("/api/state", headers=h).json()["questions"]:  # all right, attention check included
        answer = truth[q["id"]] if q["kind"] == "classification" else "bigger shape"
        client.post("/api/answers", headers=h, json={"question": q["id"], "answer": answer})
    out = tmp_path / "responses.csv"
    assert main(["study", "export", "--db", str(db_path), "--out", str(out)]) == 0
    assert f"{n_answers(db_path)} answers -> {out}" in capsys.readouterr().out
    assert main(["study", "analyse", "--responses", str(out)]) == 0
    text = capsys.readouterr().out
    assert "humans (this study)" in text and "1.000 (± 0.000)" in text and "Lang et al. (published)" in text
    assert "Distinctness" in text
    assert main(["study", "export", "--db", str(tmp_path / "none.db"), "--out", str(out)]) == 2
    assert "no study database" in capsys.readouterr().err
    assert main(["study", "serve", "--items", str(tmp_path / "none"), "--db", str(tmp_path / "x.db")]) == 2
    assert "items.json does not exist" in capsys.readouterr().err
