"""The machine observer over many question draws, its distinctness, the Table 2 figure, and StylEx items served."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest
import torch
from helpers_study import StudyServer, call, make_items

from genxai.study import analysis as SA
from genxai.study import observer as SO
from genxai.study.demo import shape_features
from genxai.study.items import build_questions, load_spec
from genxai.study.plots import table2_figure

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return load_spec(make_items(tmp_path_factory.mktemp("demo")))


def test_draws_vary_the_questions_and_score_the_clean_demo_attributes(demo):
    answers = SO.question_draws(demo, shape_features, n_draws=4, seed=10)
    assert set(answers["draw"]) == {0, 1, 2, 3} and (answers["observer"] == SA.MACHINE).all()
    n_cls = sum(q.kind == "classification" for q in build_questions(demo))  # the attention check included
    assert (answers.groupby("draw").size() == n_cls).all()
    # the draws use other examples and queries than the spec's own seed
    queries = {d: tuple(g["truth"]) for d, g in answers.groupby("draw")}
    assert len(set(queries.values())) > 1
    summary = SO.draws_summary(answers)
    assert list(summary["group"]) == sorted(demo.attributes)
    assert (summary["draws"] == 4).all() and summary["source"].str.contains("not human").all()
    # the demo's attributes are clean, single changes: the observer recognises them
    assert summary["accuracy"].min() >= 0.75
    with pytest.raises(ValueError, match="n_draws"):
        SO.question_draws(demo, shape_features, n_draws=0)


def test_pixel_noise_features_give_a_worse_observer_than_the_shape_features(demo):
    noise = torch.Generator().manual_seed(0)
    proj = torch.randn(32 * 32, 2, generator=noise)

    def two_random_directions(images):  # a feature space that hardly sees the attributes
        return images.flatten(1) @ proj

    good = SO.draws_summary(SO.question_draws(demo, shape_features, n_draws=6, size=32))["accuracy"].mean()
    bad = SO.draws_summary(SO.question_draws(demo, two_random_directions, n_draws=6, size=32))["accuracy"].mean()
    assert good > bad


def test_machine_distinctness_within_exceeds_between_on_clean_attributes(demo):
    groups, attrs = SO.machine_distinctness(demo, shape_features)
    assert set(groups["group"]) == set(demo.attributes)
    assert (groups["within"] > groups["between"]).all() and (groups["difference"] > 0.3).all()
    assert len(attrs) == sum(len(a) for a in demo.attributes.values())
    assert groups["source"].str.contains("not human").all()


def test_table2_figure_keeps_machine_rows_apart_from_people(demo):
    import matplotlib

    matplotlib.use("Agg")
    table = SA.table2(SA.machine_observer(demo, shape_features))
    fig = table2_figure(table)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    machine = [lab for lab in labels if "machine" in lab]
    assert machine and all("not human" in lab for lab in machine)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "machine observer (not human)" in legend and "humans, published" in legend


@pytest.fixture(scope="module")
def stylex_items(tmp_path_factory):
    """Items as notebook 01 exports them (genxai.stylex.export on a StylEx; here an untrained smoke-sized one)."""
    from genxai.stylex import attfind as af
    from genxai.stylex.export import attribute_animations, export_study
    from genxai.stylex.model import PairClassifierConfig, StylExConfig

    torch.manual_seed(0)
    model = StylExConfig(classifier=PairClassifierConfig(width=4, size=16), capacity=1, fmap_max=8, latent_dim=8)
    model = model.build().eval()
    codes = af.style_codes(model, torch.rand(3, 1, 16, 16) * 2 - 1)
    anims = attribute_animations(
        model, codes, [(1, 5), (0, 3)], [0, 1, 2], steps=3, class_names=["Sneaker", "Ankle boot"], group="fashion"
    )
    return export_study(tmp_path_factory.mktemp("stylex_items"), anims).parent


def test_genxai_study_serve_serves_stylex_items_and_export_feeds_the_analysis(stylex_items, tmp_path):
    pytest.importorskip("uvicorn", reason="the study extra: pip install -e '.[study]'")
    spec = load_spec(stylex_items)
    server = StudyServer(stylex_items, tmp_path / "study.db", tmp_path / "server.log").start()
    try:
        status, body = call("POST", server.url + "/api/participants", {"consent": True})
        assert status == 201
        token = body["token"]
        status, state = call("GET", server.url + "/api/state", token=token)
        assert status == 200 and len(state["questions"]) == len(build_questions(spec))
        gifs = {
            g
            for q in state["questions"]
            for g in [
                q.get("query"),
                *q.get("animations", []),
                *(e for o in q.get("options", []) for e in o["examples"]),
            ]
            if g
        }
        assert gifs and all(g.removeprefix("/gif/") in spec.items for g in gifs)
        for g in sorted(gifs)[:4]:
            with urllib.request.urlopen(server.url + g, timeout=30) as resp:
                assert resp.status == 200 and resp.headers["content-type"] == "image/gif"
                assert resp.read(6) in (b"GIF87a", b"GIF89a")
        # Answer from the items' truth: which option comes first depends on the participant's random swap, and
        # a wrong attention check would (rightly) drop the participant from Table 2.
        truth = {q.id: q.truth for q in build_questions(spec)}
        for q in state["questions"]:
            answer = truth[q["id"]] if q["kind"] == "classification" else "higher shaft"
            status, _ = call("POST", server.url + "/api/answers", {"question": q["id"], "answer": answer}, token=token)
            assert status == 200
        assert call("POST", server.url + "/api/complete", token=token)[1]["status"] == "complete"
    finally:
        server.stop()
    out = tmp_path / "responses.csv"
    subprocess.run(
        [sys.executable, "-m", "genxai.study", "export", "--db", str(tmp_path / "study.db"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    df = SA.load_responses(out)
    assert len(df) == len(state["questions"]) and set(df["group"]) == {"fashion"}
    table = SA.table2(df)
    ours = table[table["source"] == "humans (this study)"]
    assert len(ours) == 1 and ours["participants"].iloc[0] == 1
    assert set(SA.distinctness(df)[0]["group"]) == {"fashion"}
