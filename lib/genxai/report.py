"""Paper-vs-ours tables whose verdicts can fail.

Published numbers and our own targets live as data in ``genxai/paper_values/<work>.json``, never in notebook prose.
Each row names a quantity, the published value (if the work publishes one), where our value sits in
``results/<work>/metrics.json`` (a dotted path) and our target for it::

    {"rows": [{"quantity": "Table 2: referee precision, batch + BN with reuse (MNIST)",
               "paper": null, "ours": "mnist.table2.batch_bn_reuse.referee_precision",
               "target": {"op": ">=", "value": 0.95},
               "note": "the referee draws fresh Alg. 3 samples"}]}

* ``paper``: a number the work (or the work it quotes, named in ``source``) published, else null.  Our targets
  never go here.
* ``target``: ours, as data, one of

  - ``{"op": ">=" | ">" | "<=" | "<" | "==", "value": x}``: compare with a constant;
  - ``{"op": ..., "ref": "dotted.key", "scale": s}``: compare with ``s`` x another metric (``scale`` default 1),
    e.g. "below the MDTS row";
  - ``{"op": "within", "value": tol, "ref": "dotted.key"}``: ``|ours - ref| <= tol``;
  - ``{"op": "lowest" | "highest", "among": ["dotted.key", ...]}``: ours beats every listed metric;
  - ``null`` with ``no_target`` saying why (e.g. "paper value on a GPU, ours on 2 CPU cores").

The verdict is computed: ``met`` / ``missed`` / ``not comparable`` (no target, or a value not measured yet), with
the reason beside it.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping
from importlib import resources
from typing import Any

import pandas as pd

COLUMNS = ["quantity", "paper", "ours", "our target", "verdict", "reason", "note"]
VERDICTS = ("met", "missed", "not comparable")
ROW_KEYS = {"quantity", "paper", "source", "ours", "target", "no_target", "note"}
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
_OPS = {*_COMPARE, "within", "lowest", "highest"}


def load_paper_values(paper: str) -> list[dict[str, Any]]:
    try:
        text = resources.files("genxai.paper_values").joinpath(f"{paper}.json").read_text()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no published values for paper {paper!r}: add lib/genxai/paper_values/{paper}.json"
        ) from None
    rows = json.loads(text)["rows"]
    for i, row in enumerate(rows):
        check_row(row, where=f"paper_values/{paper}.json row {i}")
    return rows


def check_row(row: Mapping[str, Any], where: str = "row") -> None:
    """Raise ``ValueError`` naming the problem if ``row`` is not a valid paper-values row (see module docstring)."""

    def bad(problem: str) -> ValueError:
        return ValueError(f"{where} ({row.get('quantity', '?')!r}): {problem}")

    unknown = set(row) - ROW_KEYS
    if unknown:
        raise bad(f"unknown keys {sorted(unknown)}; allowed: {sorted(ROW_KEYS)}")
    for key in ("quantity", "ours"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise bad(f"{key!r} must be a non-empty string")
    published = row.get("paper")
    if published is not None and (isinstance(published, bool) or not isinstance(published, (int, float))):
        raise bad(f"'paper' holds published numbers only, got {published!r}; put our targets in 'target'")
    if published is not None and not row.get("source"):
        raise bad("a published number needs its 'source' (e.g. 'Table 1', or the work it quotes)")
    target = row.get("target")
    if target is None:
        if not row.get("no_target"):
            raise bad("a row without a target must say why in 'no_target'")
        return
    if not isinstance(target, Mapping) or target.get("op") not in _OPS:
        raise bad(f"'target' must be null or {{'op': one of {sorted(_OPS)}, ...}}, got {target!r}")
    op = target["op"]
    if op in ("lowest", "highest"):
        among = target.get("among")
        if not isinstance(among, list) or not among or not all(isinstance(k, str) for k in among):
            raise bad(f"op {op!r} needs 'among': a non-empty list of metric keys")
        if set(target) - {"op", "among"}:
            raise bad(f"op {op!r} takes only 'among'")
        return
    if op == "within":
        if not isinstance(target.get("ref"), str) or not _is_number(target.get("value")):
            raise bad("op 'within' needs 'value' (the tolerance) and 'ref' (a metric key)")
        if set(target) - {"op", "value", "ref"}:
            raise bad("op 'within' takes only 'value' and 'ref'")
        return
    has_value, has_ref = "value" in target, "ref" in target
    if has_value == has_ref:
        raise bad(f"op {op!r} needs exactly one of 'value' (a constant) and 'ref' (a metric key)")
    if has_ref and not isinstance(target["ref"], str):
        raise bad("'ref' must be a metric key (dotted path)")
    if has_value and not (_is_number(target["value"]) or (op == "==" and isinstance(target["value"], bool))):
        raise bad(f"'value' must be a number (or a boolean for '=='), got {target['value']!r}")
    if "scale" in target and (not has_ref or not _is_number(target["scale"])):
        raise bad("'scale' (a number) goes with 'ref' only")
    if set(target) - {"op", "value", "ref", "scale"}:
        raise bad(f"op {op!r} takes 'value' or 'ref' (+ 'scale')")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


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


def describe_target(target: Mapping[str, Any] | None) -> str:
    """Our target as text: ``>= 0.95``, ``< 1 x fig04.ig/mdts.object_mass``, ``lowest of: a, b``."""
    if target is None:
        return ""
    op = target["op"]
    if op in ("lowest", "highest"):
        return f"{op} of: " + ", ".join(target["among"])
    if op == "within":
        return f"within {target['value']:g} of {target['ref']}"
    if "ref" in target:
        scale = target.get("scale", 1)
        return f"{op} {target['ref']}" if scale == 1 else f"{op} {scale:g} x {target['ref']}"
    value = target["value"]
    return f"{op} {str(value).lower() if isinstance(value, bool) else f'{value:g}'}"


def _fmt(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def verdict(spec: Mapping[str, Any], metrics: Mapping[str, Any]) -> tuple[str, str]:
    """(``met`` | ``missed`` | ``not comparable``, the reason) of one paper-values row against ``metrics``."""
    ours = lookup(metrics, spec["ours"])
    target = spec.get("target")
    if ours is None:
        return "not comparable", f"not measured yet: the results have no {spec['ours']}"
    if target is None:
        return "not comparable", spec.get("no_target") or "no target"
    op = target["op"]
    wants_bool = op == "==" and isinstance(target.get("value"), bool)
    if wants_bool:
        if not isinstance(ours, bool):
            return "not comparable", f"{spec['ours']} is {ours!r}, not true/false"
    elif not _is_number(ours):
        return "not comparable", f"{spec['ours']} is {ours!r}, not a finite number"
    refs = target.get("among") or ([target["ref"]] if "ref" in target else [])
    others = {}
    for key in refs:
        value = lookup(metrics, key)
        if value is None:
            return "not comparable", f"not measured yet: the results have no {key}"
        if not _is_number(value):
            return "not comparable", f"{key} is {value!r}, not a finite number"
        others[key] = value
    if op in ("lowest", "highest"):
        beats = (lambda o: ours < o) if op == "lowest" else (lambda o: ours > o)
        losers = [k for k, v in others.items() if not beats(v)]
        if losers:
            return "missed", f"{_fmt(ours)} is not the {op}: " + ", ".join(f"{k} = {_fmt(others[k])}" for k in losers)
        return "met", f"{_fmt(ours)} {'<' if op == 'lowest' else '>'} all of {len(others)} others"
    if op == "within":
        gap = abs(ours - others[target["ref"]])
        ok = gap <= target["value"]
        return ("met" if ok else "missed"), f"|{_fmt(ours)} - {_fmt(others[target['ref']])}| = {gap:.3g}"
    bound = others[target["ref"]] * target.get("scale", 1) if "ref" in target else target["value"]
    ok = bool(_COMPARE[op](ours, bound))
    shown = f"{_fmt(ours)} {op if ok else _negate(op)} {_fmt(bound)}"
    return ("met" if ok else "missed"), shown


def _negate(op: str) -> str:
    return {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!="}[op]


def paper_vs_ours(paper: str, metrics: Mapping[str, Any]) -> pd.DataFrame:
    """The table: quantity | paper | ours | our target | verdict | reason | note."""
    rows = []
    for spec in load_paper_values(paper):
        ours = lookup(metrics, spec["ours"])
        if isinstance(ours, float):
            ours = round(ours, 4)
        elif isinstance(ours, (Mapping, list)):
            ours = json.dumps(ours)[:60]
        state, reason = verdict(spec, metrics)
        source = spec.get("source")
        rows.append(
            {
                "quantity": spec["quantity"],
                "paper": spec.get("paper"),
                "ours": ours,
                "our target": describe_target(spec.get("target")),
                "verdict": state,
                "reason": reason,
                "note": "; ".join(x for x in (f"paper: {source}" if source else "", spec.get("note", "")) if x),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_counts(paper: str, metrics: Mapping[str, Any]) -> dict[str, int]:
    """``{"met": a, "missed": b, "not comparable": c}`` of ``paper``'s table against ``metrics``."""
    counts = dict.fromkeys(VERDICTS, 0)
    for spec in load_paper_values(paper):
        counts[verdict(spec, metrics)[0]] += 1
    return counts


def verdict_line(paper: str, counts: Mapping[str, int]) -> str:
    """``ganmex: 5 met, 3 missed, 12 not comparable`` (the line ``genxai reproduce`` ends with, per work)."""
    return f"{paper}: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
