"""Paper-vs-ours tables.

Published numbers live as data in ``genxai/paper_values/<paper>.json``, never in notebook
prose.  Each entry names a metric, the paper's value, and where our value sits in
``results/<paper>/metrics.json`` (a dotted path)::

    {"rows": [{"metric": "Table 1 / random stitching / min per explanation",
               "paper": 0.08, "ours": "table1.mnist.random.minutes",
               "tolerance": null, "note": "2 CPU cores vs the authors' GPU"}]}

``tolerance`` (absolute) marks rows where closeness is expected; ``ok`` is then
``|ours - paper| <= tolerance``; otherwise ``ok`` is left empty (the row is informative).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import pandas as pd

COLUMNS = ["metric", "paper", "ours", "delta", "tolerance", "ok", "note"]


def load_paper_values(paper: str) -> list[dict[str, Any]]:
    try:
        text = resources.files("genxai.paper_values").joinpath(f"{paper}.json").read_text()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no published values for paper {paper!r}: add lib/genxai/paper_values/{paper}.json"
        ) from None
    return json.loads(text)["rows"]


def lookup(metrics: Mapping[str, Any], dotted: str) -> Any:
    """``lookup(m, "table1.mnist.random")`` -> ``m["table1"]["mnist"]["random"]`` (None if absent)."""
    node: Any = metrics
    for part in dotted.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def paper_vs_ours(paper: str, metrics: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for spec in load_paper_values(paper):
        ours = lookup(metrics, spec["ours"])
        published = spec.get("paper")
        delta = ok = None
        if isinstance(ours, (int, float)) and isinstance(published, (int, float)):
            ours = float(ours)
            delta = ours - float(published)
            tol = spec.get("tolerance")
            ok = None if tol is None else bool(abs(delta) <= tol)
        rows.append(
            {
                "metric": spec["metric"],
                "paper": published,
                "ours": None if ours is None else (round(ours, 4) if isinstance(ours, float) else ours),
                "delta": None if delta is None else round(delta, 4),
                "tolerance": spec.get("tolerance"),
                "ok": ok,
                "note": spec.get("note", ""),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
