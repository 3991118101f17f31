"""``genxai study ...``: serve a study, export its answers, analyse them, make demo items.

``register_cli(subparsers)`` adds the ``study`` command to an argparse parser (genxai.cli calls it);
``python -m genxai.study`` runs the same commands on their own.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

ADMIN_ENV = "GENXAI_STUDY_ADMIN_TOKEN"


def _need_server_packages() -> None:
    missing = []
    for name in ("starlette", "uvicorn"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SystemExit(f"genxai study serve needs {', '.join(missing)}: pip install -e '.[study]'")


def _cmd_serve(args: argparse.Namespace) -> int:
    _need_server_packages()
    import uvicorn

    from . import tokens
    from .app import create_app
    from .items import SpecError
    from .storage import StudyDBError

    admin = args.admin_token or os.environ.get(ADMIN_ENV) or tokens.new_admin_token()
    try:
        app = create_app(args.items, args.db, admin)
    except (SpecError, StudyDBError, ValueError) as err:
        print(f"genxai study serve: error: {err}", file=sys.stderr)
        return 2
    shown_host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    print(
        f"study: {app.state.study.spec.title!r}, {len(app.state.study.questions)} questions, database {args.db}\n"
        f"participants open: http://{shown_host}:{args.port}/\n"
        f"admin token (export, summary): {admin}\n"
        f"  curl -H 'Authorization: Bearer {admin}' http://{shown_host}:{args.port}/api/admin/summary\n"
        f"  or, any time: genxai study export --db {args.db} --out responses.csv",
        flush=True,
    )
    # access_log=False: the server logs no request lines, hence no participant IP addresses
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level=args.log_level)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import write_csv

    try:
        out = write_csv(args.db, args.out)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"genxai study export: error: {err}", file=sys.stderr)
        return 2
    with open(out, encoding="utf-8") as fh:
        n = sum(1 for _ in fh) - 1
    print(f"{n} answers -> {out}")
    return 0


def _cmd_demo_items(args: argparse.Namespace) -> int:
    from .demo import demo_items

    path = demo_items(args.out, n_images=args.n_images, seed=args.seed)
    print(f"demo items -> {path}")
    return 0


def _cmd_analyse(args: argparse.Namespace) -> int:
    import pandas as pd

    from .analysis import distinctness, format_table2, load_responses, machine_observer, per_attribute_accuracy, table2

    df = load_responses(args.responses) if args.responses else None
    if args.machine_items:
        machine = machine_observer(args.machine_items)
        df = machine if df is None else pd.concat([df, machine], ignore_index=True)
    if df is None:
        print("genxai study analyse: error: give --responses and/or --machine-items", file=sys.stderr)
        return 2
    print("Table 2: classification accuracy\n")
    print(format_table2(table2(df)))
    print("\nPer attribute\n")
    print(per_attribute_accuracy(df).to_markdown(index=False))
    groups, attributes = distinctness(df)
    if len(groups):
        print("\nDistinctness (word overlap of descriptions)\n")
        print(groups.to_markdown(index=False))
        print()
        print(attributes.to_markdown(index=False))
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser("study", help="user study: serve the web app, export answers, analyse, demo items")
    sub = p.add_subparsers(dest="study_command", required=True)

    s = sub.add_parser("serve", help="serve the study to participants (Starlette + uvicorn)")
    s.add_argument("--items", required=True, help="folder with items.json and its GIFs")
    s.add_argument("--db", required=True, help="SQLite file of the answers (created if absent)")
    s.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines (default: this one only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--admin-token",
        default=None,
        help=f"token for export/summary (default: ${ADMIN_ENV}, else a random one, printed)",
    )
    s.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    s.set_defaults(func=_cmd_serve)

    e = sub.add_parser("export", help="write every answer of a study database to a CSV")
    e.add_argument("--db", required=True)
    e.add_argument("--out", required=True, help="CSV file to write, e.g. responses.csv")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("demo-items", help="write a small study on generated shapes (to try the app)")
    d.add_argument("--out", required=True)
    d.add_argument("--n-images", type=int, default=4)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_cmd_demo_items)

    a = sub.add_parser("analyse", help="Table 2, per-attribute accuracy and distinctness of a study's answers")
    a.add_argument("--responses", help="the study database or its exported CSV")
    a.add_argument(
        "--machine-items", help="items folder: add the machine observer's answers (pixel features), labelled as such"
    )
    a.set_defaults(func=_cmd_analyse)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genxai")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["study", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
