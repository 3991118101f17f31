"""``genxai course ...`` and ``genxai cache ...``: the command-line side of :mod:`genxai.course`.

``register_cli(subparsers)`` adds both commands to the ``genxai`` parser.  Nothing heavy is imported
until a command runs, so ``genxai --help`` stays fast and works without the ``course`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import paths


def _fail(err: Exception) -> int:
    print(f"genxai: error: {err}", file=sys.stderr)
    return 2


def _require_otter() -> None:
    from .builder import CourseError

    try:
        import otter  # noqa: F401
    except ImportError:
        raise CourseError(
            "otter-grader is not installed: install the course extra, `pip install -e '.[course]'`"
        ) from None


def _cmd_build(args: argparse.Namespace) -> int:
    from .builder import CourseError, build_exercise, discover

    try:
        _require_otter()
        exercises = discover(args.work, args.exercise)
        for ex in exercises:
            folder = build_exercise(ex, Path(args.out) if args.out else None, check=not args.no_check)
            info = json.loads((folder / "exercise.json").read_text())
            checked = "" if args.no_check else ", solution graded 100 %"
            print(
                f"{ex.work}/{ex.name}: {len(info['questions'])} questions, {info['minutes']} min{checked} -> {folder}"
            )
    except CourseError as err:
        return _fail(err)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .builder import CourseError, discover

    try:
        for ex in discover(args.work):
            info = ex.info()
            points = sum(q["points"] for q in info["questions"])
            print(
                f"{ex.name}  ({ex.work}, {info['minutes']} min, {len(info['questions'])} questions, "
                f"{points:g} points)\n  {info['title']}"
            )
            for objective in info["objectives"]:
                print(f"  - {objective}")
    except CourseError as err:
        return _fail(err)
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from .builder import CourseError
    from .grader import grade, score_path, write_csv

    try:
        _require_otter()
        many = len(args.submissions) > 1
        if many and args.output and Path(args.output).suffix == ".json":
            raise CourseError("-o names one score file but several submissions were given: pass a folder")
        records, failed = [], 0
        for sub in args.submissions:
            out = score_path(sub, args.output, many)
            try:
                record = grade(sub, exercise=args.exercise, build_root=args.build, out=out, timeout=args.timeout)
            except CourseError as err:  # one unusable submission does not stop a batch
                print(f"{sub}: not graded: {err}", file=sys.stderr)
                failed += 1
                continue
            records.append(record)
            failed += bool(record["error"])
            note = f"  ERROR: {record['error'][:300]}" if record["error"] else ""
            print(f"{sub}: {record['score']:g}/{record['possible']:g} ({record['percent']:g} %) -> {out}{note}")
        if args.csv:
            print(f"grades: {write_csv(records, args.csv)}")
    except CourseError as err:
        return _fail(err)
    return 1 if failed else 0


def _cmd_csv(args: argparse.Namespace) -> int:
    from .builder import CourseError
    from .grader import read_scores, write_csv

    try:
        print(f"grades: {write_csv(read_scores(args.scores), args.output)}")
    except CourseError as err:
        return _fail(err)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .cache_share import CacheShareError, export_cache

    try:
        manifest = export_cache(args.output, args.paper or None, args.profile)
    except CacheShareError as err:
        return _fail(err)
    size = Path(args.output).stat().st_size
    print(f"{args.output}: {len(manifest['models'])} models, {size / 2**20:.1f} MiB")
    for note in manifest["selection"]:
        print(f"  {note}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from .cache_share import CacheShareError, import_cache

    try:
        summary = import_cache(args.archive, overwrite=args.overwrite)
    except CacheShareError as err:
        return _fail(err)
    print(
        f"{args.archive}: {len(summary['imported'])} models imported into {paths.cache_dir('models')}, "
        f"{len(summary['already_there'])} already there"
    )
    if summary["kept_local"]:
        print(
            f"  kept the local copy of {len(summary['kept_local'])} models that differ from the archive "
            f"(--overwrite replaces them): {', '.join(summary['kept_local'])}"
        )
    for note in summary["notes"]:
        print(f"  note: {note}")
    return 0


def register_cli(sub) -> None:
    """Add ``course`` and ``cache`` to the ``genxai`` sub-commands."""
    from ..profiles import PROFILES

    course = sub.add_parser("course", help="course exercises: build with otter-grader, grade offline")
    csub = course.add_subparsers(dest="course_command", required=True)

    p = csub.add_parser("build", help="build student notebooks and autograders into course/build/<exercise>/")
    p.add_argument("--work", help="only this work's exercises (a folder of course/source/)")
    p.add_argument("--exercise", help="only this exercise")
    p.add_argument("--out", help="build folder (default: course/build/)")
    p.add_argument(
        "--no-check", action="store_true", help="skip grading the solution (otherwise it must get full marks)"
    )
    p.set_defaults(func=_cmd_build)

    p = csub.add_parser("list", help="exercises with their time and learning objectives")
    p.add_argument("--work")
    p.set_defaults(func=_cmd_list)

    p = csub.add_parser("grade", help="grade submitted notebooks with `otter run` (no Docker); write score JSON")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb")
    p.add_argument("--exercise", help="the exercise (default: the one named in each notebook)")
    p.add_argument("--build", help="where the exercises were built (default: course/build/)")
    p.add_argument(
        "-o",
        "--output",
        help="score file (one submission) or folder (default: beside each submission, <name>.score.json)",
    )
    p.add_argument("--csv", help="also write one CSV row per submission here")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds one submission may take (default 600)")
    p.set_defaults(func=_cmd_grade)

    p = csub.add_parser("csv", help="collect score JSON files into one CSV of grades")
    p.add_argument("scores", nargs="+", metavar="SCORE.json")
    p.add_argument("-o", "--output", required=True, help="the CSV file to write")
    p.set_defaults(func=_cmd_csv)

    cache = sub.add_parser("cache", help="share trained models: export the cache to an archive, import one")
    ksub = cache.add_subparsers(dest="cache_command", required=True)
    p = ksub.add_parser("export", help="write a work's cached models (or all) into a verified tar archive")
    p.add_argument("--paper", action="append", help="a work whose models to export (repeatable; default: all)")
    p.add_argument(
        "--profile",
        default=paths.DEFAULT_PROFILE,
        choices=PROFILES,
        help="whose run records list the models (results of this profile)",
    )
    p.add_argument("-o", "--output", required=True, help="archive to write (.tar, or .tar.gz to compress)")
    p.set_defaults(func=_cmd_export)
    p = ksub.add_parser("import", help="verify an exported archive, then add its models to the cache")
    p.add_argument("archive")
    p.add_argument(
        "--overwrite", action="store_true", help="replace local models whose bytes differ from the archive's"
    )
    p.set_defaults(func=_cmd_import)
