"""Study analysis: Table 2, per-attribute accuracy, distinctness, lemmatiser, machine observer; item export."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from helpers_study import make_items
from PIL import Image, ImageSequence

from genxai.study import analysis
from genxai.study.demo import ShapeGenerator, shape_features
from genxai.study.export import COLUMNS
from genxai.study.items import build_questions, load_spec
from genxai.study.make_items import Animation, latent_animations, write_items
from genxai.viz import save_gif


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    return make_items(tmp_path_factory.mktemp("items"))


def _row(participant, question, kind, group, truth, answer, attention=False, attributes="x;y"):
    return {
        "participant": participant,
        "seed": 1,
        "completed_at": "t",
        "position": 0,
        "question": question,
        "kind": kind,
        "group": group,
        "attention": int(attention),
        "attributes": attributes,
        "truth": truth,
        "answer": answer,
        "correct": "",
        "elapsed_ms": 5,
        "received_at": "t",
    }


def _responses():
    rows = []
    # group G: question Q1 answered right by 3/4, Q2 by 1/4; p4 fails the attention check
    for i, p in enumerate(["p1", "p2", "p3", "p4"]):
        rows.append(_row(p, "Q1", "classification", "G", "x", "x" if i < 3 else "y"))
        rows.append(_row(p, "Q2", "classification", "G", "y", "y" if i == 0 else "x", attributes="y;x"))
        rows.append(_row(p, "attention", "classification", "G", "x", "x" if p != "p4" else "y", attention=True))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_table2_mean_and_sd_across_questions():
    df = analysis.load_responses(_responses())
    t = analysis.table2(df, exclude_failed_attention=False)
    ours = t[t["source"] == "humans (this study)"].iloc[0]
    assert ours["accuracy"] == pytest.approx((0.75 + 0.25) / 2)
    assert ours["sd"] == pytest.approx(0.25)  # population SD of [0.75, 0.25]
    assert ours["questions"] == 2 and ours["participants"] == 4
    t1 = analysis.table2(df, ddof=1, with_published=False)  # p4 excluded: Q1 3/3, Q2 1/3
    assert len(t1) == 1
    assert t1.iloc[0]["accuracy"] == pytest.approx((1 + 1 / 3) / 2)
    assert t1.iloc[0]["sd"] == pytest.approx(np.std([1, 1 / 3], ddof=1))
    assert t1.iloc[0]["participants"] == 3
    assert analysis.attention_failures(df) == {"p4"}


def test_published_rows_come_from_package_data():
    pub = analysis.published_table2()
    data = json.loads((analysis.Path(analysis.__file__).parent / "published_table2.json").read_text())
    assert len(pub) == len(data["rows"]) == 7
    lang = pub[(pub["study"] == "Lang et al.") & pub["dataset"].str.startswith("FFHQ")].iloc[0]
    assert (lang["mean"], lang["sd"]) == (0.96, 0.047)
    t = analysis.table2(analysis.load_responses(_responses()))
    published = t[t["source"].str.endswith("(published)")]
    assert sorted(published["accuracy"]) == sorted(pub["mean"])
    text = analysis.format_table2(t)
    assert "0.960 (± 0.047)" in text and "humans (this study)" in text


def test_per_attribute_accuracy():
    df = analysis.load_responses(_responses())
    per = analysis.per_attribute_accuracy(df, exclude_failed_attention=False).set_index("attribute")
    assert per.loc["x", "accuracy"] == pytest.approx(0.75) and per.loc["y", "accuracy"] == pytest.approx(0.25)
    assert per.loc["x", "n"] == 4


@pytest.mark.parametrize(
    "forms, key",
    [
        (["smile", "smiling", "smiles", "smiled"], "smil"),
        (["glasses", "glass"], "glass"),
        (["darker", "dark"], "dark"),
        (["thicker", "thick", "thickest"], "thick"),
        (["bigger", "big"], "big"),
        (["moving", "moves", "move", "moved"], "mov"),
        (["happier", "happy"], "happy"),
        (["running", "run"], "run"),
        (["eyes", "eye"], "eye"),
        (["brightness"], "brightness"),
        (["Women", "woman"], "woman"),
    ],
)
def test_lemma(forms, key):
    assert {analysis.lemma(f) for f in forms} == {key}


def test_words_drop_stopwords():
    assert analysis.words("The shape gets BIGGER!") == ["shap", "big"]


def test_distinctness_within_exceeds_between():
    rows = []
    descriptions = {
        "a": ["bigger circle", "circle grows bigger", "larger circle"],
        "b": ["moves left", "moving to the left", "shift left"],
    }
    for attr, texts in descriptions.items():
        for i, text in enumerate(texts):
            rows.append(_row(f"p{i}", f"V-{attr}", "verbal", "G", "", text, attributes=attr))
    groups, attrs = analysis.distinctness(analysis.load_responses(pd.DataFrame(rows, columns=list(COLUMNS))))
    g = groups.iloc[0]
    assert g["within"] > 0.3 and g["between"] == 0.0 and g["difference"] == pytest.approx(g["within"])
    row_b = attrs.set_index("attribute").loc["b"]
    assert row_b["common_words"].startswith("left (3)")


def test_machine_observer_on_demo_items(items):
    df = analysis.machine_observer(items, features=shape_features)
    spec = load_spec(items)
    n_cls = sum(q.kind == "classification" for q in build_questions(spec))
    assert len(df) == n_cls and (df["observer"] == analysis.MACHINE).all()
    assert df.loc[df["attention"], "correct"].eq(1).all()  # its animation is one of the examples
    t = analysis.table2(df, with_published=False)
    assert set(t["source"]) == {analysis.MACHINE_LABEL}
    # the demo's attributes are clean unit directions, each moving one of these features
    assert df.loc[~df["attention"], "correct"].mean() == 1.0
    pixels = analysis.machine_observer(items)  # the default feature space: raw pixels
    assert len(pixels) == len(df) and pixels.loc[pixels["attention"], "correct"].eq(1).all()


def test_machine_observer_follows_its_features(items):
    # features that see nothing: every change is zero, so the observer cannot beat always answering x
    blind = analysis.machine_observer(items, features=lambda x: torch.zeros(len(x), 4))
    questions = {q.id: q for q in build_questions(load_spec(items))}
    assert all(row.answer == questions[row.question].attributes[0] for row in blind.itertuples())


def test_responses_round_trip_through_csv(items, tmp_path):
    df = analysis.machine_observer(items)
    path = tmp_path / "r.csv"
    df[list(COLUMNS)].to_csv(path, index=False)
    back = analysis.load_responses(path)
    assert (back["correct"].to_numpy() == df["correct"].to_numpy()).all()
    with pytest.raises(ValueError, match="lack the column"):
        analysis.load_responses(pd.DataFrame({"participant": ["p"]}))
    with pytest.raises(FileNotFoundError, match="genxai study export"):
        analysis.load_responses(tmp_path / "none.csv")


def test_save_gif_round_trip(tmp_path):
    frames = torch.linspace(-1, 1, 4)[:, None, None, None].expand(4, 3, 5, 6).clone()
    path = save_gif(frames, tmp_path / "a.gif", duration_ms=[500, 100, 100, 500], scale=3)
    with Image.open(path) as im:
        read = [(np.asarray(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(im)]
        assert im.size == (18, 15)
    assert [d for _, d in read] == [500, 100, 100, 500]
    assert [int(a[0, 0, 0]) for a, _ in read] == [0, 85, 170, 255]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]  # no temporary file left
    with pytest.raises(ValueError, match="frames must be"):
        save_gif(torch.zeros(2, 2, 5, 5), tmp_path / "b.gif")
    with pytest.raises(ValueError, match="duration_ms"):
        save_gif(frames, tmp_path / "b.gif", duration_ms=[1, 2])
    assert not (tmp_path / "b.gif").exists()


def test_latent_animations_and_write_items(tmp_path):
    G = ShapeGenerator(size=16)
    dirs = {"grow": torch.eye(G.latent_dim)[2], "right": torch.eye(G.latent_dim)[0]}
    anims = latent_animations(G, dirs, n_images=3, shift=2.0, steps=4, classify=G.classify, group="g")
    assert len(anims) == 6 and all(a.frames.shape == (6, 1, 16, 16) for a in anims)  # 0..3 and back: 6 frames
    grow = anims[0].frames
    assert (grow[3] > 0).sum() > (grow[0] > 0).sum()  # the shape grew along "grow"
    assert torch.equal(grow[4], grow[2]) and torch.equal(grow[5], grow[1])
    spec_path = write_items(tmp_path / "items", anims, seed=3, scale=1)
    spec = load_spec(spec_path.parent)
    assert spec.seed == 3 and spec.attributes == {"g": ["grow", "right"]} and len(spec.items) == 6
    assert {it.cls for it in spec.items.values()} <= {"0", "1"}
    with pytest.raises(ValueError, match="direction 'bad'"):
        latent_animations(G, {"bad": torch.ones(3)}, 1, 1.0)
    with pytest.raises(ValueError, match="no animations"):
        write_items(tmp_path / "none", [])
    custom = [
        Animation(attribute=a, image=str(i), cls=0, shift=1.0, frames=torch.zeros(2, 1, 4, 4), group="h")
        for a in ("p", "q")
        for i in range(3)
    ]
    assert load_spec(write_items(tmp_path / "custom", custom).parent).attributes == {"h": ["p", "q"]}


def test_a_second_export_replaces_the_items_folder_and_a_failed_one_keeps_it(tmp_path):
    def anims(attrs, frames=None):
        return [
            Animation(
                attribute=a,
                image=str(i),
                cls=0,
                shift=1.0,
                frames=torch.zeros(2, 1, 4, 4) if frames is None else frames,
                group="h",
            )
            for a in attrs
            for i in range(3)
        ]

    folder = tmp_path / "items"
    write_items(folder, anims(("p", "q")), scale=1)
    first = sorted(p.name for p in (folder / "gifs").iterdir())
    assert len(first) == 6
    write_items(folder, anims(("q", "r")), scale=1)
    # the GIFs of attribute "p", which the second export did not find, are gone: every file is in the spec
    second = sorted(p.name for p in (folder / "gifs").iterdir())
    assert second == sorted(f"h-{a}-{i}.gif" for a in ("q", "r") for i in range(3))
    assert load_spec(folder).attributes == {"h": ["q", "r"]}
    with pytest.raises(ValueError, match="frames must be"):
        write_items(folder, anims(("s",)) + anims(("t",), frames=torch.zeros(2, 2, 4, 4)), scale=1)
    assert sorted(p.name for p in (folder / "gifs").iterdir()) == second  # the failed export changed nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items"]  # and left no temporary folder
    # a folder holding anything else is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a study-items folder"):
        write_items(tmp_path / "mine", anims(("p",)), scale=1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_items_from_a_gan_xai_generator_and_directions(tmp_path):
    # the real classes of genxai.gan_xai (a conditional generator: each image keeps its label), untrained
    from genxai.gan_xai.directions import Deformator
    from genxai.gan_xai.gan import Generator

    torch.manual_seed(0)
    G = Generator(latent_dim=8, n_classes=10, width=4, attention=False).eval()
    A = Deformator(8, 3).directions()
    anims = latent_animations(
        G, {f"direction {k}": A[k] for k in range(3)}, n_images=3, shift=4.0, steps=3, seed=5, group="MNIST CGAN"
    )
    assert len(anims) == 9 and all(a.frames.shape == (4, 1, 28, 28) for a in anims)
    gen = torch.Generator().manual_seed(5)
    z, cond = G.sample_latent(3, generator=gen), G.sample_condition(3, generator=gen)
    with torch.no_grad():
        base = G(z, **cond)
        moved = G(z + 4.0 * A[1], **cond)
    for a in anims[3:6]:  # direction 1, images 0..2: frame 0 is the image, frame 2 the full shift
        i = int(a.image)
        assert torch.allclose(a.frames[0], base[i], atol=1e-5) and torch.allclose(a.frames[2], moved[i], atol=1e-5)
    spec = load_spec(write_items(tmp_path / "items", anims, scale=2).parent)
    assert spec.attributes == {"MNIST CGAN": ["direction 0", "direction 1", "direction 2"]}
    assert len(build_questions(spec)) == 3 + 1 + 3
