"""Exercise sources -> otter-grader assignments (``genxai course build``).

An exercise source is a notebook ``course/source/<work>/<exercise>.ipynb`` in otter-grader's
assign format (v1): raw cells ``# BEGIN QUESTION`` (YAML: ``name``, ``points``), ``# BEGIN SOLUTION``
/ ``# END SOLUTION`` around the answer cell (inside it, ``# BEGIN SOLUTION`` ... ``# END SOLUTION``
lines or a trailing ``# SOLUTION`` mark what the student must write), ``# BEGIN TESTS`` / ``# END TESTS``
around exception-based test cells (a ``# HIDDEN`` first line, or ``hidden: true`` in a test config,
makes a test hidden) and ``# END QUESTION``.  Its notebook metadata ``genxai_course`` holds
``title``, ``minutes`` (estimated time) and ``objectives`` (learning objectives); the builder writes
otter's ``# ASSIGNMENT CONFIG`` cell and an objectives cell from them, so every exercise is configured
the same way and the source holds no otter settings.

:func:`build` runs ``otter assign`` (otter-grader's Python API) in a staging folder, grades the
solution notebook with :func:`genxai.course.grader.grade` (it must get full marks), checks that the
student notebook holds no solution line and no hidden test, then renames the staging folder to
``course/build/<exercise>/``::

    student/<exercise>.ipynb       hand this out
    autograder/<exercise>.ipynb    the solution notebook (keep it private)
    autograder/autograder.zip      every test, hidden ones included (``otter run -a``)
    exercise.json                  work, title, minutes, objectives, questions and points
    solution_score.json            the solution's grade (full marks)
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import hashlib
import io
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__, paths
from ..repro import write_json

#: Keys of the ``genxai_course`` notebook metadata every exercise source must have.
METADATA_KEY = "genxai_course"
ZIP_NAME = "autograder.zip"

_MARKER = re.compile(r"^\s*#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT)\b", re.IGNORECASE)


class CourseError(ValueError):
    """A course source, build or submission that cannot be used, with the fix in the message."""


@dataclass(frozen=True)
class Exercise:
    work: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def read(self):
        import nbformat

        try:
            return nbformat.read(self.path, as_version=4)
        except Exception as err:  # nbformat raises several kinds for broken JSON / schema
            raise CourseError(f"{self.path} is not a readable notebook: {err}") from err

    def info(self) -> dict[str, Any]:
        """The exercise's ``genxai_course`` metadata and its questions, validated."""
        nb = self.read()
        meta = nb.metadata.get(METADATA_KEY)
        where = f"{self.path} (notebook metadata {METADATA_KEY!r})"
        if not isinstance(meta, dict):
            raise CourseError(f"{where} is missing: add {{'title': ..., 'minutes': ..., 'objectives': [...]}}")
        title, minutes, objectives = meta.get("title"), meta.get("minutes"), meta.get("objectives")
        if not isinstance(title, str) or not title.strip():
            raise CourseError(f"{where}: 'title' must be a non-empty string")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
            raise CourseError(f"{where}: 'minutes' (estimated time) must be a positive integer, got {minutes!r}")
        if (
            not isinstance(objectives, list)
            or not objectives
            or not all(isinstance(o, str) and o.strip() for o in objectives)
        ):
            raise CourseError(f"{where}: 'objectives' must be a non-empty list of learning objectives (strings)")
        for cell in nb.cells:
            if cell.cell_type == "raw" and cell.source.lstrip().upper().startswith("# ASSIGNMENT CONFIG"):
                raise CourseError(
                    f"{self.path} has its own '# ASSIGNMENT CONFIG' cell: remove it, the builder "
                    f"writes otter's configuration (extra keys go in metadata {METADATA_KEY}.otter)"
                )
        questions = _questions(nb, self.path)
        if not questions:
            raise CourseError(f"{self.path} has no '# BEGIN QUESTION' raw cell: an exercise needs a graded question")
        return {
            "exercise": self.name,
            "work": self.work,
            "title": title.strip(),
            "minutes": minutes,
            "objectives": [o.strip() for o in objectives],
            "questions": questions,
            "otter": dict(meta.get("otter", {})),
        }


def _questions(nb, path: Path) -> list[dict[str, Any]]:
    import yaml

    out = []
    for cell in nb.cells:
        if cell.cell_type != "raw" or not re.match(r"^\s*#\s*BEGIN\s+QUESTION", cell.source, re.IGNORECASE):
            continue
        config = yaml.safe_load(cell.source.split("\n", 1)[1] if "\n" in cell.source else "") or {}
        name, points = config.get("name"), config.get("points")
        if not isinstance(name, str) or not isinstance(points, (int, float)) or points <= 0:
            raise CourseError(
                f"{path}: every '# BEGIN QUESTION' cell needs 'name: <str>' and 'points: <number > 0>' (got {config!r})"
            )
        if name in {q["name"] for q in out}:
            raise CourseError(f"{path}: question name {name!r} is used twice")
        out.append({"name": name, "points": float(points)})
    return out


def source_dir() -> Path:
    return paths.course_dir() / "source"


def build_dir() -> Path:
    return paths.course_dir() / "build"


def discover(work: str | None = None, exercise: str | None = None, root: Path | None = None) -> list[Exercise]:
    """Exercise sources under ``course/source/<work>/``, optionally one work's or one exercise."""
    root = root or source_dir()
    found = [Exercise(p.parent.name, p) for p in sorted(root.glob("*/*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
    names = [e.name for e in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CourseError(f"exercise names must be unique across works: {dupes} appear more than once in {root}")
    if work is not None:
        works = sorted({e.work for e in found})
        found = [e for e in found if e.work == work]
        if not found:
            raise CourseError(f"no exercises for work {work!r} in {root}; works with exercises: {', '.join(works)}")
    if exercise is not None:
        chosen = [e for e in found if e.name == exercise]
        if not chosen:
            raise CourseError(f"unknown exercise {exercise!r}; exercises: {', '.join(e.name for e in found)}")
        found = chosen
    return found


def _config_cell(info: dict[str, Any]):
    import nbformat
    import yaml

    config = {
        "name": info["exercise"],
        "requirements": None,  # graded locally with `otter run`: the course extra is the environment
        "export_cell": False,  # submissions are the .ipynb itself
        "init_cell": True,  # `grader = otter.Notebook(...)` so students can run grader.check("q1")
        "check_all_cell": True,
        "run_tests": False,  # the builder grades the solution itself, through the same path as students
        "solutions_pdf": False,
        "template_pdf": False,
        "tests": {"files": False, "ok_format": False},  # exception-based tests, visible ones in the notebook
        "generate": {"pdf": False, "zips": False},
        **info["otter"],
    }
    return nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False))


def _objectives_cell(info: dict[str, Any]):
    import nbformat

    lines = ["## Learning objectives", "", "After this exercise you can:", ""]
    lines += [f"{i}. {o}" for i, o in enumerate(info["objectives"], 1)]
    points = sum(q["points"] for q in info["questions"])
    lines += [
        "",
        f"**Estimated time:** {info['minutes']} minutes. **Questions:** {len(info['questions'])} "
        f'({points:g} points). Run `grader.check("<question>")` after each answer: it runs the visible '
        "tests; hidden tests check more when your notebook is graded.",
    ]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def master_notebook(exercise: Exercise, info: dict[str, Any] | None = None):
    """The otter master notebook: the source with the configuration and objectives cells added."""
    info = info or exercise.info()
    nb = copy.deepcopy(exercise.read())
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first_md + 1, _objectives_cell(info))
    nb.cells.insert(0, _config_cell(info))
    nb.metadata.pop(METADATA_KEY, None)
    return nb


def _split_lines(nb) -> tuple[list[str], set[str]]:
    """(code the student must write, every other line of the source) as stripped lines.

    Solution code is what lies inside ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines of the cells between
    the solution raw cells, and the right-hand side of lines marked ``# SOLUTION`` (otter keeps the left
    side, ``name = ...``).  Everything else (given code, prompts, signatures) is shown to students.
    """
    solution, given, in_cells = [], set(), False
    for cell in nb.cells:
        text = cell.source
        if cell.cell_type == "raw":
            if re.match(r"^\s*#\s*BEGIN\s+SOLUTION", text, re.IGNORECASE):
                in_cells = True
            elif re.match(r"^\s*#\s*END\s+SOLUTION", text, re.IGNORECASE):
                in_cells = False
            continue
        block = False
        for line in text.splitlines():
            stripped = line.strip()
            if not (in_cells and cell.cell_type == "code"):
                given.add(stripped)
                continue
            if re.match(r"#\s*BEGIN SOLUTION", stripped):
                block = True
            elif re.match(r"#\s*END SOLUTION", stripped):
                block = False
            elif block:
                solution.append(stripped)
            elif re.search(r"#\s*SOLUTION\s*$", stripped):
                code = re.sub(r"#\s*SOLUTION\s*$", "", stripped).strip()
                lhs, sep, rhs = code.partition("=")
                solution.append(rhs.strip() if sep and re.fullmatch(r"[\w.\[\]'\", ]+", lhs.strip()) else code)
            else:
                given.add(stripped)
    return [line for line in solution if line and not line.startswith("#")], given


def solution_lines(nb) -> list[str]:
    """Code the student must write (see :func:`_split_lines`), in source order."""
    return _split_lines(nb)[0]


def leaked_solution_lines(source_nb, student_nb) -> list[str]:
    """Solution lines that appear in the student notebook and nowhere in what the source shows students."""
    solution, given = _split_lines(source_nb)
    student = {line.strip() for cell in student_nb.cells for line in cell.source.splitlines()}
    return [line for line in solution if line in student and line not in given]


def hidden_test_names(autograder_nb) -> set[str]:
    """Names of the hidden test functions of the solution notebook's tests (otter metadata)."""
    names = set()
    for text in autograder_nb.metadata.get("otter", {}).get("tests", {}).values():
        names |= set(re.findall(r"@test_case\([^)]*hidden=True[^)]*\)\s*\ndef (\w+)", text))
    return names


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_exercise(exercise: Exercise, out_root: Path | None = None, check: bool = True, timeout: float = 600) -> Path:
    """Build one exercise into ``out_root/<exercise>/`` (default ``course/build/``); returns that folder.

    ``check``: grade the solution notebook (it must get full marks) and refuse a student notebook that
    holds a solution line or a hidden test.  Nothing is left half-built: the build happens in a staging
    folder beside the target and replaces it by a rename.
    """
    import nbformat
    from otter.assign import main as otter_assign
    from otter.version import __version__ as otter_version

    from .grader import grade

    info = exercise.info()
    out_root = Path(out_root or build_dir())
    out_root.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{exercise.name}.", suffix=".building", dir=out_root))
    try:
        master = stage / "master" / f"{exercise.name}.ipynb"
        master.parent.mkdir()
        nbformat.write(master_notebook(exercise, info), master)
        dist = stage / "dist"
        log = io.StringIO()
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                otter_assign(str(master), str(dist), no_pdfs=True, no_run_tests=True)
        except Exception as err:
            raise CourseError(f"otter assign failed on {exercise.path}: {err}\n{log.getvalue()[-2000:]}") from err
        zips = sorted((dist / "autograder").glob("*-autograder_*.zip"))
        if len(zips) != 1:
            raise CourseError(f"otter assign wrote {len(zips)} autograder zips for {exercise.name}, expected 1")
        zips[0].rename(dist / "autograder" / ZIP_NAME)
        student_nb = nbformat.read(dist / "student" / master.name, as_version=4)
        solution_nb = dist / "autograder" / master.name
        record = {
            **{k: v for k, v in info.items() if k != "otter"},
            "source": exercise.path.relative_to(paths.root()).as_posix()
            if exercise.path.is_relative_to(paths.root())
            else str(exercise.path),
            "source_sha256": _sha256(exercise.path),
            "otter_grader": otter_version,
            "genxai": __version__,
            "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        write_json(dist / "exercise.json", record)
        if check:
            leaked = leaked_solution_lines(exercise.read(), student_nb)
            if leaked:
                raise CourseError(
                    f"the student notebook of {exercise.name} contains solution lines {leaked}: "
                    "put them inside '# BEGIN SOLUTION' / '# END SOLUTION' or mark them '# SOLUTION'"
                )
            student_text = json.dumps(student_nb, default=str)
            shown = sorted(n for n in hidden_test_names(nbformat.read(solution_nb, as_version=4)) if n in student_text)
            if shown:
                raise CourseError(f"hidden tests {shown} of {exercise.name} appear in the student notebook")
            score = grade(solution_nb, exercise_dir=dist, timeout=timeout)
            write_json(dist / "solution_score.json", {**score, "submission": f"autograder/{master.name}"})
            if score["score"] != score["possible"] or score.get("error"):
                failed = {q: v for q, v in score["questions"].items() if v["score"] < v["possible"]}
                raise CourseError(
                    f"the solution of {exercise.name} does not get full marks "
                    f"({score['score']:g}/{score['possible']:g}): {json.dumps(failed, indent=1)}"
                    f"{' ' + score['error'] if score.get('error') else ''}"
                )
        shutil.rmtree(master.parent)
        final = out_root / exercise.name
        old = out_root / f".{exercise.name}.old"
        if old.exists():
            shutil.rmtree(old)
        if final.exists():
            final.rename(old)
        dist.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return final
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def build(
    work: str | None = None, exercise: str | None = None, out_root: Path | None = None, check: bool = True
) -> list[Path]:
    """Build every exercise (of ``work``, or only ``exercise``); returns the built folders."""
    return [build_exercise(e, out_root, check=check) for e in discover(work, exercise)]
