"""Paper-vs-ours verdicts: they can fail, published numbers and our targets never share a column, every row of
every paper-values file parses, and the tables can be recomputed from the committed results."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from genxai import paths, report

WORKS = sorted(p.name[:-5] for p in resources.files("genxai.paper_values").iterdir() if p.name.endswith(".json"))


def _one(monkeypatch, spec):
    monkeypatch.setattr(report, "load_paper_values", lambda paper: [spec])


@pytest.mark.parametrize(
    "target, metrics, expected",
    [
        ({"op": ">=", "value": 0.85}, {"a": 0.9}, "met"),
        ({"op": ">=", "value": 0.85}, {"a": 0.84}, "missed"),
        ({"op": "<", "ref": "b"}, {"a": 0.81, "b": 0.92}, "met"),
        ({"op": "<", "ref": "b"}, {"a": 0.92, "b": 0.81}, "missed"),
        ({"op": "<=", "ref": "b", "scale": 3}, {"a": 2.9, "b": 1.0}, "met"),
        ({"op": "<=", "ref": "b", "scale": 3}, {"a": 3.1, "b": 1.0}, "missed"),
        ({"op": "within", "value": 0.05, "ref": "b"}, {"a": 0.996, "b": 0.74}, "missed"),
        ({"op": "within", "value": 0.05, "ref": "b"}, {"a": 0.97, "b": 0.96}, "met"),
        ({"op": "lowest", "among": ["b", "c"]}, {"a": 0.5, "b": 0.6, "c": 0.7}, "met"),
        ({"op": "lowest", "among": ["b", "c"]}, {"a": 0.65, "b": 0.6, "c": 0.7}, "missed"),
        ({"op": "==", "value": True}, {"a": False}, "missed"),
        ({"op": ">=", "value": 0.85}, {}, "not comparable"),
        ({"op": "<", "ref": "b"}, {"a": 0.5}, "not comparable"),
    ],
)
def test_a_verdict_turns_to_missed_when_its_number_misses(monkeypatch, target, metrics, expected):
    _one(monkeypatch, {"quantity": "q", "paper": None, "ours": "a", "target": target})
    table = report.paper_vs_ours("w", metrics)
    assert table.loc[0, "verdict"] == expected
    assert report.verdict_counts("w", metrics)[expected] == 1


def test_a_row_without_target_is_not_comparable_with_its_reason(monkeypatch):
    _one(
        monkeypatch,
        {
            "quantity": "q",
            "paper": 0.08,
            "source": "Table 1",
            "ours": "a",
            "target": None,
            "no_target": "paper value on a GPU, ours on 2 CPU cores",
        },
    )
    row = report.paper_vs_ours("w", {"a": 0.02}).loc[0]
    assert (row["verdict"], row["reason"]) == ("not comparable", "paper value on a GPU, ours on 2 CPU cores")
    _one(monkeypatch, {"quantity": "q", "paper": None, "ours": "a", "target": {"op": ">", "value": 1}})
    row = report.paper_vs_ours("w", {}).loc[0]
    assert row["verdict"] == "not comparable" and row["reason"].startswith("not measured yet")


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"paper": ">= 0.9"}, "published numbers only"),
        ({"paper": 0.9}, "source"),
        ({"target": None}, "no_target"),
        ({"target": {"op": "~", "value": 1}}, "op"),
        ({"target": {"op": ">=", "value": 1, "ref": "b"}}, "exactly one"),
        ({"target": {"op": "lowest", "among": []}}, "among"),
        ({"tolerance": 0.05}, "unknown keys"),
    ],
)
def test_malformed_rows_are_refused_with_the_problem_named(bad, match):
    row = {"quantity": "q", "paper": None, "ours": "a", "target": {"op": ">=", "value": 1}, **bad}
    with pytest.raises(ValueError, match=match):
        report.check_row(row)


@pytest.mark.parametrize("work", WORKS)
def test_every_row_parses_and_published_numbers_never_share_a_column_with_targets(work):
    rows = report.load_paper_values(work)  # runs check_row on every row
    assert rows
    for spec in rows:
        text = json.dumps(spec).lower()
        assert "issue target" not in text, spec["quantity"]  # our targets live in "target", not "paper"
        if spec.get("paper") is not None:
            assert spec.get("source"), spec["quantity"]
    table = report.paper_vs_ours(work, {})
    assert list(table.columns) == report.COLUMNS
    assert set(table["verdict"]) == {"not comparable"}  # nothing measured: nothing met
    published = [r.get("paper") for r in rows]
    assert [None if x != x else x for x in table["paper"]] == published  # NaN != NaN: an empty cell
    assert not any(str(t).replace(".", "", 1).isdigit() for t in table["our target"])  # a target has an operator


@pytest.mark.parametrize("work", WORKS)
def test_the_tables_recompute_from_the_committed_results(work):
    metrics_file = paths.root() / "results" / work / "metrics.json"
    if not metrics_file.exists():
        pytest.skip(f"no committed results for {work}")
    metrics = json.loads(metrics_file.read_text())
    counts = report.verdict_counts(work, metrics)
    assert sum(counts.values()) == len(report.load_paper_values(work))
    assert counts["met"] + counts["missed"] > 0  # the committed results answer some targets
    line = report.verdict_line(work, counts)
    assert line.startswith(f"{work}: ") and "missed" in line
