"""Reading a study database out: the responses CSV and the admin summary.

One CSV row per answer:

=============  ==========================================================================
participant    the anonymous random id (``p-`` + 16 hex digits)
seed           the participant's seed (their question order, see ``items.participant_plan``)
completed_at   when they finished (empty if they did not)
position       where the question came in their visit (0-based)
question       question id (``C01``..., ``attention``, ``V01``...)
kind           ``classification`` or ``verbal``
group          data set / model (a row of Table 2)
attention      1 for the attention check
attributes     ``x;y`` (classification) or the attribute described (verbal)
truth          classification: the attribute of the animation to classify
answer         the chosen attribute id, or the free-text description
correct        classification: 1 if answer == truth, else 0; empty for verbal
elapsed_ms     time the participant took (as reported by their browser)
received_at    when the server committed the answer (UTC)
=============  ==========================================================================

Text cells that a spreadsheet would run as a formula (starting with ``= + - @`` or a tab) are written
with a leading ``'``; :func:`unescape_cell` (used by the analysis) undoes it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from .items import participant_plan
from .storage import StudyDB

COLUMNS = (
    "participant",
    "seed",
    "completed_at",
    "position",
    "question",
    "kind",
    "group",
    "attention",
    "attributes",
    "truth",
    "answer",
    "correct",
    "elapsed_ms",
    "received_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def rows(db: StudyDB) -> list[dict[str, Any]]:
    """Every answer with its question's definition, as dicts keyed by :data:`COLUMNS`."""
    questions = {q.id: q for q in db.questions()}
    qlist = list(questions.values())
    positions: dict[int, dict[str, int]] = {}
    out = []
    for r in db.answer_rows():
        q = questions[r["question"]]
        if r["seed"] not in positions:
            positions[r["seed"]] = {e["question"]: i for i, e in enumerate(participant_plan(qlist, r["seed"]))}
        answer = json.loads(r["value"])
        out.append(
            {
                "participant": r["participant"],
                "seed": r["seed"],
                "completed_at": r["completed_at"] or "",
                "position": positions[r["seed"]][q.id],
                "question": q.id,
                "kind": q.kind,
                "group": q.group,
                "attention": int(q.attention),
                "attributes": ";".join(q.attributes),
                "truth": q.truth or "",
                "answer": answer,
                "correct": "" if q.kind != "classification" else int(answer == q.truth),
                "elapsed_ms": "" if r["elapsed_ms"] is None else r["elapsed_ms"],
                "received_at": r["received_at"],
            }
        )
    return out


def csv_text(db: StudyDB) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(db):
        writer.writerow({k: escape_cell(v) for k, v in row.items()})
    return buf.getvalue()


def write_csv(db_path: str | Path, out: str | Path) -> Path:
    """Export the database ``db_path`` to the CSV ``out`` (written atomically)."""
    from ..repro import write_text

    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"no study database at {db_path}: give the --db that `genxai study serve` used")
    db = StudyDB(db_path)
    try:
        return write_text(out, csv_text(db))
    finally:
        db.close()


def summary(db: StudyDB) -> dict[str, Any]:
    """Counts for the admin: participants, completed visits, answers, answers per question."""
    per_question: dict[str, dict[str, Any]] = {}
    for q in db.questions():
        per_question[q.id] = {
            "kind": q.kind,
            "group": q.group,
            "answers": 0,
            "correct": 0 if q.kind == "classification" else None,
        }
    for row in rows(db):
        entry = per_question[row["question"]]
        entry["answers"] += 1
        if row["correct"] != "":
            entry["correct"] += row["correct"]
    return {**db.counts(), "questions": per_question, "integrity": db.integrity_check()}
