"""The results gallery: one offline HTML page over ``results/`` (``genxai report``).

``write_gallery(results_root)`` writes ``<results_root>/index.html``: per work (every folder of ``results_root`` that
holds figures or provenance records), every figure with its caption, the paper-vs-ours table as the run wrote it
(``paper_vs_ours.csv``, whatever its columns) and the provenance of each notebook run (``run-*.json``: git sha,
profile, wall time).  Captions are data, ``genxai/captions/<work>.json``: per figure stem, the paper figure it
regenerates and what it shows.

The page needs nothing but the files beside it: no script, no font or style sheet from a server, images and links
relative to ``results_root``; it is written atomically and holds no date, so unchanged results give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from PIL import Image

from . import paths
from .repro import write_text

#: Name of the page inside the results folder.
PAGE = "index.html"


@dataclass
class Figure:
    file: str  # relative to the results root, e.g. "ganchors/fig08_anchor_comparison_mnist.png"
    stem: str
    width: int
    height: int
    paper: str | None  # the paper figure it regenerates; None when the caption is missing
    shows: str | None


@dataclass
class Run:
    notebook: str
    git_sha: str
    git_dirty: bool
    profile: str
    wall_time: str
    threads: Any
    device: str
    written_at: str


@dataclass
class Work:
    name: str
    title: str
    order: int
    page_href: str | None  # the work's documentation page, relative to the results root
    figures: list[Figure] = field(default_factory=list)
    table_html: str | None = None
    notebooks: list[str] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    has_metrics: bool = False

    @property
    def missing(self) -> list[str]:
        return [f.file for f in self.figures if f.paper is None]


def check_captions(spec: Any, where: str) -> dict[str, Any]:
    """``spec`` with defaults filled in, or a ValueError naming ``where`` and what to fix."""
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("title"), str)
        or not isinstance(spec.get("captions"), dict)
    ):
        raise ValueError(
            f"{where} needs a string 'title' and a 'captions' mapping of figure stem -> {{'paper': ..., 'shows': ...}}"
        )
    for stem, cap in spec["captions"].items():
        if not (
            isinstance(cap, dict)
            and isinstance(cap.get("paper"), str)
            and isinstance(cap.get("shows"), str)
            and cap["paper"].strip()
            and cap["shows"].strip()
        ):
            raise ValueError(
                f"{where}: caption of {stem!r} needs non-empty strings 'paper' (the paper figure it "
                "regenerates) and 'shows' (what the figure shows)"
            )
    return {"order": 1000, "page": None, **spec}


def load_captions(work: str) -> dict[str, Any]:
    """``genxai/captions/<work>.json``, checked; a work without the file gets an empty caption table."""
    source = resources.files("genxai.captions").joinpath(f"{work}.json")
    if not source.is_file():
        return {"title": work, "order": 1000, "page": None, "captions": {}}
    where = f"lib/genxai/captions/{work}.json"
    try:
        spec = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{where} is not valid JSON ({err}); fix the file") from None
    return check_captions(spec, where)


def work_dirs(results_root: Path) -> list[Path]:
    """Folders of ``results_root`` holding a work's results (figures or run records directly inside).

    Profile and scratch folders (``results/smoke/<work>/`` ...) hold only sub-folders, so they are not works.
    """
    return sorted(
        d for d in results_root.iterdir() if d.is_dir() and (any(d.glob("*.png")) or any(d.glob("run-*.json")))
    )


def _minutes(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "?"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _run(path: Path) -> Run:
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); rerun its notebook with genxai reproduce") from None
    return Run(
        notebook=path.stem.removeprefix("run-"),
        git_sha=str(rec.get("git_sha") or "?")[:10],
        git_dirty=bool(rec.get("git_dirty")),
        profile=str(rec.get("profile", "?")),
        wall_time=_minutes(rec.get("wall_time_s")),
        threads=rec.get("torch_threads", "?"),
        device=str(rec.get("device", "?")),
        written_at=str(rec.get("written_at", "?")),
    )


def _table_html(csv: Path) -> str | None:
    if not csv.is_file():
        return None
    # pandas renders any columns the run wrote (a verdict column included) and escapes every cell
    table = pd.read_csv(csv)
    # numbers as written (6 significant digits), not padded to a common number of decimals per column
    return table.to_html(index=False, na_rep="", border=0, classes="pvo", escape=True, float_format="{:.6g}".format)


def _page_href(page: str | None, results_root: Path) -> str | None:
    if not page:
        return None
    target = paths.root() / page
    return Path(os.path.relpath(target, results_root)).as_posix() if target.is_file() else None


def collect(results_root: str | os.PathLike) -> list[Work]:
    """Everything the page shows, per work, in the captions' order."""
    root = Path(results_root)
    works = []
    for d in work_dirs(root):
        spec = load_captions(d.name)
        caps = spec["captions"]
        pngs = {p.stem: p for p in d.glob("*.png")}
        ordered = [s for s in caps if s in pngs] + sorted(s for s in pngs if s not in caps)
        figures = []
        for stem in ordered:
            with Image.open(pngs[stem]) as im:
                width, height = im.size
            cap = caps.get(stem)
            figures.append(
                Figure(
                    file=f"{d.name}/{stem}.png",
                    stem=stem,
                    width=width,
                    height=height,
                    paper=cap["paper"] if cap else None,
                    shows=cap["shows"] if cap else None,
                )
            )
        works.append(
            Work(
                name=d.name,
                title=spec["title"],
                order=spec["order"],
                page_href=_page_href(spec.get("page"), root),
                figures=figures,
                table_html=_table_html(d / "paper_vs_ours.csv"),
                notebooks=sorted(p.name for p in d.glob("*.ipynb") if not p.name.endswith(".FAILED.ipynb")),
                runs=[_run(p) for p in sorted(d.glob("run-*.json"))],
                has_metrics=(d / "metrics.json").is_file(),
            )
        )
    return sorted(works, key=lambda w: (w.order, w.name))


def missing_captions(results_root: str | os.PathLike) -> list[str]:
    """Figures under ``results_root`` without a caption (``<work>/<file>.png``)."""
    return [f for w in collect(results_root) for f in w.missing]


# A template engine instead of string concatenation: autoescaping every value keeps captions and file names from
# breaking the markup.
_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>genxai results gallery</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d232a;
       background: #f6f7f9; line-height: 1.45; }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; padding-bottom: 8px; }
h1 { font-size: 1.7rem; margin: 0.2em 0; }
h2 { font-size: 1.35rem; margin: 0 0 0.3em; }
h3 { font-size: 1.05rem; margin: 1.4em 0 0.5em; color: #38424d; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 8px 20px; }
a { color: #1a5fb4; }
section.work { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 18px 22px;
               margin: 18px 0 28px; }
.links { font-size: 0.9rem; color: #505a64; margin: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid #e3e6ea; border-radius: 6px; padding: 10px; background: #fff; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 0.86rem; margin-top: 8px; }
figcaption .paper { font-weight: 600; }
figcaption .file { display: block; color: #6a737d; font-family: ui-monospace, monospace; font-size: 0.78rem; }
figcaption.missing { color: #a51d2d; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.8rem; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f2f4; }
table.pvo td:last-child { min-width: 320px; }
code { font-family: ui-monospace, monospace; font-size: 0.9em; }
</style>
</head>
<body>
<header>
<h1>genxai results gallery</h1>
<p>The figures and paper-vs-ours tables regenerated by <code>genxai reproduce</code>, one section per work. Each
caption names the paper figure the file regenerates and what it shows; click a figure for full size. Rebuild this
page with <code>genxai report</code>.</p>
<nav><ul>
{% for w in works %}
<li><a href="#{{ w.name }}">{{ w.name }}</a> ({{ w.figures|length }} figures)</li>
{% endfor %}
</ul></nav>
</header>
<main>
{% for w in works %}
<section class="work" id="{{ w.name }}">
<h2>{{ w.title }}</h2>
<p class="links">
{% if w.page_href %}
work page: <a href="{{ w.page_href }}">{{ w.page_href.split('/')[-2:]|join('/') }}</a> &middot;
{% endif %}
executed notebooks:
{% for nb in w.notebooks %}
<a href="{{ w.name }}/{{ nb }}">{{ nb }}</a>{% if not loop.last %}, {% endif %}
{% else %}
none
{% endfor %}
{% if w.has_metrics %} &middot; <a href="{{ w.name }}/metrics.json">metrics.json</a>{% endif %}
</p>
{% if w.table_html %}
<h3>Paper vs ours</h3>
<div class="scroll">{{ w.table_html|safe }}</div>
{% endif %}
<h3>Figures</h3>
{% if w.figures %}
<div class="grid">
{% for f in w.figures %}
<figure id="{{ f.stem }}">
<a href="{{ f.file }}"><img src="{{ f.file }}" width="{{ f.width }}" height="{{ f.height }}"
 alt="{{ f.shows or f.stem }}"></a>
{% if f.paper %}
<figcaption><span class="paper">{{ f.paper }}.</span> {{ f.shows }}
<span class="file">{{ f.file }}</span></figcaption>
{% else %}
<figcaption class="missing">No caption yet: add "{{ f.stem }}" to lib/genxai/captions/{{ w.name }}.json.
<span class="file">{{ f.file }}</span></figcaption>
{% endif %}
</figure>
{% endfor %}
</div>
{% else %}
<p>No figures.</p>
{% endif %}
{% if w.runs %}
<h3>Provenance</h3>
<div class="scroll"><table>
<thead><tr><th>notebook</th><th>git sha</th><th>profile</th><th>wall time</th><th>threads</th><th>device</th>
<th>written at (UTC)</th></tr></thead>
<tbody>
{% for r in w.runs %}
<tr><td>{{ r.notebook }}</td>
<td><code>{{ r.git_sha }}</code>{% if r.git_dirty %} (uncommitted changes){% endif %}</td>
<td>{{ r.profile }}</td><td>{{ r.wall_time }}</td><td>{{ r.threads }}</td><td>{{ r.device }}</td>
<td>{{ r.written_at }}</td>
</tr>
{% endfor %}
</tbody>
</table></div>
{% endif %}
</section>
{% endfor %}
</main>
</body>
</html>
"""


def render(results_root: str | os.PathLike) -> str:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.from_string(_TEMPLATE).render(works=collect(results_root))


def write_gallery(results_root: str | os.PathLike | None = None) -> Path:
    """Write ``<results_root>/index.html`` (default: the committed results) atomically and return its path.

    Figures without a caption are shown with a note saying where to add one, and a warning names them.
    """
    root = Path(results_root) if results_root is not None else paths.results_root()
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder at {root}: run `genxai reproduce` first")
    if not work_dirs(root):
        raise FileNotFoundError(
            f"{root} holds no work's results (folders with figures or run-*.json): "
            "run `genxai reproduce` first, or pass the folder that holds results/<work>/"
        )
    missing = missing_captions(root)
    if missing:
        warnings.warn(
            f"{len(missing)} figure(s) without a caption in lib/genxai/captions/<work>.json: " + ", ".join(missing),
            stacklevel=2,
        )
    return write_text(root / PAGE, render(root))


def _cmd_report(args: argparse.Namespace) -> int:
    if args.results:
        root = Path(args.results)
    else:
        root = paths.results_root() if args.profile == paths.DEFAULT_PROFILE else paths.results_root() / args.profile
    try:
        path = write_gallery(root)
    except (FileNotFoundError, ValueError) as err:
        print(f"genxai: error: {err}", file=sys.stderr)
        return 1
    print(f"gallery: {path}")
    return 0


def register_cli(subparsers) -> None:
    """Add ``genxai report`` to the CLI's sub-commands."""
    p = subparsers.add_parser("report", help="write the results gallery results/index.html (offline HTML)")
    p.add_argument(
        "--profile",
        default=paths.DEFAULT_PROFILE,
        help="whose results: cpu (results/, the default) or another profile (results/<profile>/)",
    )
    p.add_argument("--results", help="any folder holding <work>/ result folders (overrides --profile)")
    p.set_defaults(func=_cmd_report)
