"""The recorder's notebook side: figures and tables shown inline, tables with their metrics entry, explanations
rendered from the run's numbers and the published values."""

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from genxai import recorder
from genxai.recorder import RunRecorder


@pytest.fixture
def shown(monkeypatch):
    """Pretend to run in a kernel and collect what would be displayed."""
    out = []
    monkeypatch.setattr(recorder, "in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: out.append(obj))
    return out


def test_savefig_shows_the_saved_png(tmp_genxai, shown):
    rec = RunRecorder("trains", profile="smoke")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = rec.savefig(fig, "fig99_line")
    assert len(shown) == 1 and shown[0].data == path.read_bytes()


def test_nothing_is_shown_outside_a_kernel(tmp_genxai, monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: calls.append(a))
    rec = RunRecorder("trains", profile="smoke")
    rec.write_table(pd.DataFrame({"a": [1.0]}), "t")
    assert recorder.in_kernel() is False and calls == []


def test_write_table_with_metrics_key_writes_both_and_shows_a_table(tmp_genxai, shown):
    rec = RunRecorder("trains", profile="smoke")
    df = pd.DataFrame({"pair": ["a|b", "c|d"], "hit_rate": [0.5, 0.123456]})
    rec.write_table(df, "table1_frontier", metrics_key="frontier_pairs")
    assert (rec.outdir / "table1_frontier.csv").exists() and (rec.outdir / "table1_frontier.md").exists()
    metrics = json.loads((rec.outdir / "metrics.json").read_text())
    assert metrics["frontier_pairs"] == [{"pair": "a|b", "hit_rate": 0.5}, {"pair": "c|d", "hit_rate": 0.123456}]
    assert (
        "<table" in shown[0]["text/html"]
        and "0.123" in shown[0]["text/plain"]
        and "0.123456" not in shown[0]["text/plain"]
    )


def test_explain_fills_the_template_and_versus_reads_paper_values(tmp_genxai, shown):
    rec = RunRecorder("trains", profile="smoke")
    rec.write_metrics({"trains": {"classifier_test_acc": {"main": 0.974}}})
    assert rec.paper_value("trains.classifier_test_acc.main") == 0.99
    phrase = rec.versus("trains.classifier_test_acc.main")
    assert phrase == "0.974 (paper: 0.990; our target >= 0.97: met)"
    assert rec.versus("trains.classifier_test_acc.main", ours=0.5).endswith("our target >= 0.97: missed)")
    assert "no published number" in rec.versus("fashion.classifier_test_acc.main", ours=0.88)
    md = rec.explain("accuracy {acc}", acc=phrase)
    assert md == "**What this shows.** accuracy " + phrase and shown[-1].data == md
    with pytest.raises(KeyError, match="no row"):
        rec.paper_value("trains.nothing")
    with pytest.raises(KeyError, match="write it"):
        rec.metric("trains.nothing")


def test_markdown_tables_leave_missing_cells_blank(tmp_genxai):
    rec = RunRecorder("trains", profile="smoke")
    df = pd.DataFrame({"quantity": ["published", "ours only"], "paper": [0.99, float("nan")], "ours": [0.97, 0.5]})
    rec.write_table(df, "paper_vs_ours_example")
    md = (rec.outdir / "paper_vs_ours_example.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ours only")]
    assert "nan" not in md.lower() and len(rows) == 1
    assert [cell.strip() for cell in rows[0].strip("|").split("|")] == ["ours only", "", "0.5"]
    assert "0.99" in md


def test_markdown_tables_escape_pipes_inside_cells(tmp_genxai):
    rec = RunRecorder("trains", profile="smoke")
    df = pd.DataFrame({"quantity": ["frontier |p - 0.5| (mean)"], "ours": [0.01]})
    rec.write_table(df, "pipes")
    row = (rec.outdir / "pipes.md").read_text().splitlines()[2]
    cells = [c.strip() for c in row.replace("\\|", "<pipe>").strip("|").split("|")]
    assert cells == ["frontier <pipe>p - 0.5<pipe> (mean)", "0.01"]
