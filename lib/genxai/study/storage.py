"""The study's database: SQLite that never loses a committed answer.

* ``journal_mode=WAL`` + ``synchronous=FULL``: a commit is on disk (the WAL is fsynced) before the
  server replies, so a crash or ``kill -9`` right after a reply loses nothing.
* ``answers`` has the primary key ``(participant, question)``: a repeated POST of the same answer is a
  no-op (idempotent), a different second answer is refused, and no question is ever counted twice.
* The questions are stored with the spec's digest: the database is the whole record of a study (the
  analysis needs nothing else), and the server refuses to serve other items on a database that
  already holds answers to these.

One connection per thread (the ASGI server runs blocking calls in a thread pool).
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from . import tokens
from .items import Question

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, grp TEXT NOT NULL, definition TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY, seed INTEGER NOT NULL, created_at TEXT NOT NULL, completed_at TEXT);
CREATE TABLE IF NOT EXISTS answers (
    participant TEXT NOT NULL REFERENCES participants(id),
    question TEXT NOT NULL REFERENCES questions(id),
    value TEXT NOT NULL,
    elapsed_ms INTEGER,
    received_at TEXT NOT NULL,
    PRIMARY KEY (participant, question));
"""


class StudyDBError(RuntimeError):
    pass


class AnswerConflict(StudyDBError):
    """The participant already answered this question with a different answer."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


class StudyDB:
    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._local = threading.local()

    # ------------------------------------------------------------------ connections
    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a write is one explicit transaction
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StudyDBError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); put the database on a local file system"
                )
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @classmethod
    def snapshot(cls, path: str | Path) -> StudyDB:
        """An in-memory copy of the database at ``path``, for reading (in this thread) while a server may
        still be writing it; SQLite's backup API copies a consistent state."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no study database at {path}")
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        mem = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            src.backup(mem)
        finally:
            src.close()
        mem.row_factory = sqlite3.Row
        db = cls(path)
        db._local.conn = mem
        return db

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _write(self, sql_fn):
        """Run ``sql_fn(conn)`` in one IMMEDIATE transaction (the write lock is taken up front)."""
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = sql_fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out

    # ------------------------------------------------------------------ set-up
    def init(self, questions: list[Question], digest: str) -> None:
        """Create the tables and store the study's questions, or check they are the stored ones."""
        conn = self.connect()
        conn.executescript(SCHEMA)

        def fill(conn):
            stored = conn.execute("SELECT value FROM meta WHERE key='spec_digest'").fetchone()
            if stored is None:
                conn.execute("INSERT INTO meta VALUES ('spec_digest', ?)", (digest,))
                conn.execute("INSERT INTO meta VALUES ('secret', ?)", (tokens.new_secret(),))
                conn.execute("INSERT INTO meta VALUES ('created_at', ?)", (_now(),))
                conn.executemany(
                    "INSERT INTO questions VALUES (?, ?, ?, ?)",
                    [(q.id, q.kind, q.group, json.dumps(q.to_json(), sort_keys=True)) for q in questions],
                )
            elif stored[0] != digest:
                raise StudyDBError(
                    f"{self.path} belongs to a study with other items (spec sha256 {stored[0][:12]}, "
                    f"these items {digest[:12]}); use a new --db for new items, or serve the "
                    "items this database was started with"
                )

        self._write(fill)

    def secret(self) -> str:
        row = self.connect().execute("SELECT value FROM meta WHERE key='secret'").fetchone()
        if row is None:
            raise StudyDBError(f"{self.path} is not initialised; start it with `genxai study serve`")
        return row[0]

    def questions(self) -> list[Question]:
        rows = self.connect().execute("SELECT definition FROM questions ORDER BY rowid").fetchall()
        if not rows:
            raise StudyDBError(
                f"{self.path} holds no study (no questions table or no questions); is it a study "
                "database written by `genxai study serve`?"
            )
        return [Question.from_json(json.loads(r[0])) for r in rows]

    # ------------------------------------------------------------------ participants
    def add_participant(self, seed: int) -> str:
        pid = tokens.new_participant_id()
        self._write(
            lambda c: c.execute("INSERT INTO participants (id, seed, created_at) VALUES (?, ?, ?)", (pid, seed, _now()))
        )
        return pid

    def participant(self, pid: str) -> sqlite3.Row | None:
        return self.connect().execute("SELECT * FROM participants WHERE id=?", (pid,)).fetchone()

    def answers_of(self, pid: str) -> dict[str, str]:
        rows = self.connect().execute("SELECT question, value FROM answers WHERE participant=?", (pid,))
        return {r[0]: json.loads(r[1]) for r in rows}

    def record_answer(self, pid: str, question: str, value: Any, elapsed_ms: int | None) -> str:
        """Commit one answer; ``"stored"``, or ``"duplicate"`` when this same answer is already there.

        Raises :class:`AnswerConflict` when a different answer to the question is stored.
        """
        encoded = json.dumps(value)

        def insert(conn):
            cur = conn.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?) ON CONFLICT(participant, question) DO NOTHING",
                (pid, question, encoded, elapsed_ms, _now()),
            )
            if cur.rowcount == 1:
                return "stored"
            stored = conn.execute(
                "SELECT value FROM answers WHERE participant=? AND question=?", (pid, question)
            ).fetchone()[0]
            if stored != encoded:
                raise AnswerConflict(
                    f"question {question!r} was already answered with {json.loads(stored)!r}; "
                    "an answer cannot be changed"
                )
            return "duplicate"

        return self._write(insert)

    def complete(self, pid: str) -> str:
        def mark(conn):
            conn.execute("UPDATE participants SET completed_at=? WHERE id=? AND completed_at IS NULL", (_now(), pid))
            return conn.execute("SELECT completed_at FROM participants WHERE id=?", (pid,)).fetchone()[0]

        return self._write(mark)

    # ------------------------------------------------------------------ reading out
    def participants(self) -> list[sqlite3.Row]:
        return self.connect().execute("SELECT * FROM participants ORDER BY created_at, id").fetchall()

    def answer_rows(self) -> list[sqlite3.Row]:
        return (
            self.connect()
            .execute(
                "SELECT a.participant, a.question, a.value, a.elapsed_ms, a.received_at, p.seed, p.completed_at "
                "FROM answers a JOIN participants p ON p.id = a.participant "
                "ORDER BY p.created_at, a.participant, a.received_at, a.question"
            )
            .fetchall()
        )

    def counts(self) -> dict[str, int]:
        c = self.connect()
        return {
            "participants": c.execute("SELECT COUNT(*) FROM participants").fetchone()[0],
            "completed": c.execute("SELECT COUNT(*) FROM participants WHERE completed_at IS NOT NULL").fetchone()[0],
            "answers": c.execute("SELECT COUNT(*) FROM answers").fetchone()[0],
        }

    def integrity_check(self) -> str:
        return self.connect().execute("PRAGMA integrity_check").fetchone()[0]
