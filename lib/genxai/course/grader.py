"""Grade submissions headless with ``otter run`` (no Docker) and write score JSON / CSV.

:func:`grade` runs ``otter run -a <exercise>/autograder/autograder.zip`` (``otter.run.main``) on one
submitted notebook in a child process of its own session, so a time limit can end an endless loop in a
student's code (the kernel otter starts exits with its parent).  On Linux the child is forked, so a batch
imports otter once, not per submission; elsewhere it is a fresh interpreter (forking after torch and the
Objective-C runtime are loaded is unsafe on macOS).  It turns otter's ``results.json`` into a score record:
per question the score, the points possible and otter's feedback (visible and hidden tests).
The points possible come from the built exercise, so a submission that breaks the notebook still
scores 0 out of the full points rather than 0 out of 0.

``otter run`` executes the student's code with the grader's permissions: grade in an account or
machine that holds nothing the submissions must not read.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..repro import atomic_path, write_json
from .builder import ZIP_NAME, CourseError, build_dir

#: Seconds one submission may take to grade (exercises are designed to run in under 2 minutes).
DEFAULT_TIMEOUT_S = 600.0


def exercise_of(submission: str | os.PathLike) -> str:
    """The exercise a student notebook belongs to (otter writes its name into the notebook metadata)."""
    import nbformat

    try:
        nb = nbformat.read(str(submission), as_version=4)
    except Exception as err:
        raise CourseError(f"{submission} is not a readable notebook (.ipynb): {err}") from err
    name = nb.metadata.get("otter", {}).get("assignment_name")
    if not name:
        raise CourseError(
            f"{submission} does not say which exercise it answers (no otter assignment_name in "
            "its metadata): pass --exercise NAME"
        )
    return str(name)


def _otter_run(submission: str, autograder: str, out_dir: str, log: str) -> None:
    """The child: a session of its own (so a timeout can end it all), output into ``log``."""
    if hasattr(os, "setsid"):
        os.setsid()
    os.chdir(out_dir)
    f = open(log, "w", buffering=1)  # left open: the child writes until it exits
    os.dup2(f.fileno(), 1)
    os.dup2(f.fileno(), 2)
    sys.stdout = sys.stderr = f
    from otter.run import main

    main(submission, autograder=autograder, output_dir=out_dir, no_logo=True)


def _exercise_dir(submission: Path, exercise: str | None, build_root: Path | None) -> Path:
    name = exercise or exercise_of(submission)
    return Path(build_root or build_dir()) / name


def _score_record(info: dict[str, Any], results: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    entries = {t.get("name"): t for t in (results or {}).get("tests", []) if "max_score" in t}
    questions = {}
    for q in info["questions"]:
        entry = entries.get(q["name"])
        if entry is not None and abs(float(entry["max_score"]) - q["points"]) > 1e-9:
            raise CourseError(
                f"question {q['name']} is worth {q['points']:g} points in exercise.json but "
                f"{entry['max_score']} in the autograder: rebuild the exercise (genxai course build)"
            )
        score = float(entry.get("score") or 0.0) if entry is not None else 0.0
        questions[q["name"]] = {
            "score": score,
            "possible": q["points"],
            "feedback": entry.get("output", "") if entry is not None else "",
        }
    if results is not None and error is None:
        missing = [q for q in questions if q not in entries]
        if missing:
            error = f"otter returned no result for questions {missing} (the notebook may not have run to the end)"
    score = sum(v["score"] for v in questions.values())
    possible = sum(v["possible"] for v in questions.values())
    return {
        "exercise": info["exercise"],
        "work": info["work"],
        "score": score,
        "possible": possible,
        "percent": round(100.0 * score / possible, 2) if possible else 0.0,
        "questions": questions,
        "error": error,
    }


def grade(
    submission: str | os.PathLike,
    exercise_dir: str | os.PathLike | None = None,
    *,
    exercise: str | None = None,
    build_root: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Grade one submitted notebook; returns (and, with ``out``, writes) its score record.

    The exercise is the one named in the notebook's metadata unless ``exercise`` names another; it is
    looked up in ``build_root`` (default ``course/build/``).  ``exercise_dir`` (one built exercise
    folder) overrides both.
    """
    from otter.version import __version__ as otter_version

    sub = Path(submission)
    if not sub.is_file():
        raise CourseError(f"no submission at {sub}")
    if sub.suffix != ".ipynb":
        raise CourseError(f"{sub}: submissions are notebooks (.ipynb)")
    ex_dir = (
        Path(exercise_dir)
        if exercise_dir is not None
        else _exercise_dir(sub, exercise, Path(build_root) if build_root else None)
    )
    info_path, autograder = ex_dir / "exercise.json", ex_dir / "autograder" / ZIP_NAME
    if not info_path.is_file() or not autograder.is_file():
        raise CourseError(
            f"exercise {ex_dir.name!r} is not built ({ex_dir} lacks exercise.json or "
            f"autograder/{ZIP_NAME}): run `genxai course build`"
        )
    info = json.loads(info_path.read_text())
    if exercise is not None and exercise != info["exercise"]:
        raise CourseError(f"--exercise {exercise!r} does not match the built exercise {info['exercise']!r} in {ex_dir}")
    named = None
    try:
        named = exercise_of(sub)
    except CourseError:
        pass  # a notebook without otter metadata is still graded against the chosen exercise
    if named is not None and named != info["exercise"]:
        raise CourseError(
            f"{sub} answers exercise {named!r}, not {info['exercise']!r}: grade it against its own "
            "exercise (leave out --exercise)"
        )

    started = time.time()
    results, error = None, None
    with tempfile.TemporaryDirectory(prefix="genxai-grade-") as tmp:
        log = Path(tmp) / "otter.log"
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        child = multiprocessing.get_context(method).Process(
            target=_otter_run, args=(str(sub.resolve()), str(autograder.resolve()), tmp, str(log))
        )
        child.start()
        child.join(timeout)
        if child.is_alive():
            if hasattr(os, "killpg"):
                os.killpg(child.pid, signal.SIGKILL)  # otter and everything it started
            else:
                child.kill()
            child.join()
            error = (
                f"grading stopped after {timeout:g} s (an endless loop or a very slow cell?); every question scores 0"
            )
        results_path = Path(tmp) / "results.json"
        if error is None:
            if child.exitcode != 0 or not results_path.is_file():
                output = log.read_text(errors="replace") if log.exists() else ""
                error = f"otter run failed (exit status {child.exitcode}): {output[-2000:]}"
            else:
                results = json.loads(results_path.read_text())
    record = _score_record(info, results, error)
    record.update(
        {
            "submission": str(submission),
            "submission_sha256": hashlib.sha256(sub.read_bytes()).hexdigest(),
            "graded_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.time() - started, 1),
            "otter_grader": otter_version,
        }
    )
    if out is not None:
        write_json(out, record)
    return record


def score_path(submission: str | os.PathLike, out: str | os.PathLike | None = None, many: bool = False) -> Path:
    """Where a submission's score JSON goes: ``out`` (a file for one submission, a folder for many),
    else beside the submission as ``<name>.score.json``."""
    sub = Path(submission)
    name = f"{sub.stem}.score.json"
    if out is None:
        return sub.with_name(name)
    out = Path(out)
    if many or out.is_dir() or out.suffix != ".json":
        return out / name
    return out


def write_csv(records: Iterable[dict[str, Any]], path: str | os.PathLike) -> Path:
    """One row per graded submission: submission, exercise, one column per question, totals, error."""
    records = list(records)
    questions: list[str] = []
    for r in records:
        questions += [q for q in r["questions"] if q not in questions]
    columns = ["submission", "exercise", *questions, "score", "possible", "percent", "error"]
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in records:
            row = {
                "submission": r.get("submission", ""),
                "exercise": r["exercise"],
                "score": r["score"],
                "possible": r["possible"],
                "percent": r["percent"],
                "error": r.get("error") or "",
            }
            row.update({q: r["questions"][q]["score"] if q in r["questions"] else "" for q in questions})
            writer.writerow(row)
    return path


def read_scores(paths: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """Score records written by :func:`grade`, checked to be ones."""
    out = []
    for p in paths:
        try:
            record = json.loads(Path(p).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise CourseError(f"{p} is not a readable score JSON: {err}") from err
        if not isinstance(record, dict) or not {"exercise", "questions", "score", "possible"} <= set(record):
            raise CourseError(f"{p} is not a score JSON written by `genxai course grade`")
        out.append(record)
    return out
