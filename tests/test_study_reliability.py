"""No answer is ever lost: kill -9 mid-study, 50 participants at once (uvicorn on 127.0.0.1)."""

import http.client
import sqlite3
import threading

import pytest

pytest.importorskip("uvicorn", reason="the study extra: pip install -e '.[study]'")

from helpers_study import ADMIN, StudyServer, call, make_items  # noqa: E402


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    return make_items(tmp_path_factory.mktemp("items"))


@pytest.fixture
def make_server(items, tmp_path):
    servers = []

    def make(db):
        servers.append(StudyServer(items, db, tmp_path / "server.log"))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


def answer_for(q, salt=""):
    return q["options"][0]["attribute"] if q["kind"] == "classification" else f"change {salt}".strip()


def test_kill_9_loses_nothing_and_the_participant_resumes(tmp_path, make_server):
    make = make_server
    db = tmp_path / "study.db"
    server = make(db).start()
    status, body = call("POST", server.url + "/api/participants", {"consent": True})
    assert status == 201
    token = body["token"]
    state = call("GET", server.url + "/api/state", token=token)[1]
    questions = state["questions"]
    half = len(questions) // 2
    for q in questions[:half]:
        status, reply = call(
            "POST", server.url + "/api/answers", {"question": q["id"], "answer": answer_for(q)}, token=token
        )
        assert status == 200 and reply["status"] == "stored"
    server.kill()  # SIGKILL right after the last reply: no shutdown code runs
    assert server.proc.returncode == -9
    with sqlite3.connect(db) as conn:  # what a crash leaves on disk (the WAL is replayed on open)
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == half

    server = make(db).start()  # same database, new process, new port
    state = call("GET", server.url + "/api/state", token=token)[1]  # the old token still works
    assert sorted(state["answered"]) == sorted(q["id"] for q in questions[:half])
    assert [q["id"] for q in state["questions"]] == [q["id"] for q in questions]  # same order
    # the browser resends its queue (the last answer again) then goes on where it was
    resend = questions[half - 1]
    assert (
        call(
            "POST", server.url + "/api/answers", {"question": resend["id"], "answer": answer_for(resend)}, token=token
        )[1]["status"]
        == "duplicate"
    )
    for q in questions[half:]:
        assert (
            call("POST", server.url + "/api/answers", {"question": q["id"], "answer": answer_for(q)}, token=token)[0]
            == 200
        )
    assert call("POST", server.url + "/api/complete", token=token)[0] == 200
    server.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == len(questions)
        assert conn.execute("SELECT completed_at IS NOT NULL FROM participants").fetchone()[0] == 1
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_9_under_load_keeps_every_acknowledged_answer(tmp_path, make_server):
    db = tmp_path / "study.db"
    server = make_server(db).start()
    acked: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def participant() -> None:
        try:  # a participant who joins as the server is killed never gets an answer acknowledged
            status, body = call("POST", server.url + "/api/participants", {"consent": True})
            if status != 201:
                return
            questions = call("GET", server.url + "/api/state", token=body["token"])[1]["questions"]
        except (OSError, http.client.HTTPException):
            return
        for q in questions:
            if stop.is_set():
                return
            try:
                status, _ = call(
                    "POST",
                    server.url + "/api/answers",
                    {"question": q["id"], "answer": answer_for(q)},
                    token=body["token"],
                    timeout=10,
                )
            except (OSError, http.client.HTTPException):
                # the server died under this request, before or while it replied (IncompleteRead): not acknowledged
                return
            if status == 200:
                with lock:
                    acked.append((body["participant"], q["id"]))

    threads = [threading.Thread(target=participant) for _ in range(8)]
    for t in threads:
        t.start()
    while len(acked) < 20 and any(t.is_alive() for t in threads):
        threading.Event().wait(0.01)
    server.kill()  # in the middle of the writes
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert len(acked) >= 20
    with sqlite3.connect(db) as conn:
        stored = set(conn.execute("SELECT participant, question FROM answers"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert set(acked) <= stored  # an answer the server confirmed is on disk


def test_fifty_concurrent_participants(tmp_path, make_server):
    db = tmp_path / "study.db"
    server = make_server(db).start()
    n_participants = 50
    sent: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(n_participants, timeout=120)

    def participant(i: int) -> None:
        try:
            start.wait()
            status, body = call("POST", server.url + "/api/participants", {"consent": True})
            assert status == 201, body
            token, pid = body["token"], body["participant"]
            questions = call("GET", server.url + "/api/state", token=token)[1]["questions"]
            mine = {}
            for k, q in enumerate(questions):
                answer = answer_for(q, salt=f"{i}-{k}")
                mine[q["id"]] = answer
                # every third answer is sent twice, as a browser resending its queue would
                for _ in range(2 if k % 3 == 0 else 1):
                    status, reply = call(
                        "POST",
                        server.url + "/api/answers",
                        {"question": q["id"], "answer": answer, "elapsed_ms": k},
                        token=token,
                    )
                    assert status == 200, reply
            assert call("POST", server.url + "/api/complete", token=token)[0] == 200
            with lock:
                sent[pid] = mine
        except Exception as err:  # noqa: BLE001 -- any failure in a thread is reported by the main thread
            with lock:
                errors.append(f"participant {i}: {err!r}")

    threads = [threading.Thread(target=participant, args=(i,)) for i in range(n_participants)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "participants still running after 240 s"
    assert errors == []
    summary = call("GET", server.url + "/api/admin/summary", token=ADMIN)[1]
    server.stop()
    n_questions = len(next(iter(sent.values())))
    assert len(sent) == n_participants
    assert summary["answers"] == n_participants * n_questions and summary["completed"] == n_participants
    with sqlite3.connect(db) as conn:
        stored = {}
        for pid, qid, value in conn.execute("SELECT participant, question, value FROM answers"):
            stored.setdefault(pid, {})[qid] = value.strip('"')
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == n_participants * n_questions
        dupes = conn.execute(
            "SELECT COUNT(*) FROM (SELECT participant, question FROM answers "
            "GROUP BY participant, question HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert dupes == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stored == sent  # every answer, exactly as sent
