"""Helpers of the trains notebooks (genxai.trains.experiments) and their figures (genxai.trains.plots)."""

from types import SimpleNamespace

import matplotlib
import pytest
import torch

from genxai.trains import experiments as E
from genxai.trains import plots

matplotlib.use("Agg")


def _classifiers(labels):
    test = SimpleNamespace(labels=torch.as_tensor(labels), n_classes=int(max(labels)) + 1)
    return SimpleNamespace(test=test)


def test_real_sample_is_class_balanced_even_on_a_sorted_split_and_halves_are_disjoint():
    labels = torch.arange(4).repeat_interleave(50)  # sorted by label, as MNIST's test split
    first, second = E.real_sample(_classifiers(labels), 40, seed=0, halves=2)
    assert len(first) == len(second) == 40
    assert torch.bincount(labels[first], minlength=4).tolist() == [10, 10, 10, 10]
    assert torch.bincount(labels[second], minlength=4).tolist() == [10, 10, 10, 10]
    assert not set(first.tolist()) & set(second.tolist())
    # "the first 40" would have held class 0 only
    assert torch.bincount(labels[:40], minlength=4).tolist() == [40, 0, 0, 0]


def test_fools_classifier_compares_the_judges_share_with_the_classifiers():
    assert E.fools_classifier(0.98, 0.30)
    assert not E.fools_classifier(0.98, 0.95)
    assert E.fools_classifier(0.50, 0.44) and not E.fools_classifier(0.50, 0.45)


def test_sample_train_has_the_asked_wagons_and_boxes_inside_the_frame():
    image, row, boxes = E.sample_train(size=64, seed=0, n_wagons=2)
    assert image.shape == (3, 64, 64) and image.min() >= -1 and image.max() <= 1
    assert row["NumberOfWagons"] == 2
    assert [b[0] for b in boxes] == ["locomotive", "wagon1", "wagon2"]
    assert all(0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64 for _, x0, y0, x1, y1 in boxes)
    with pytest.raises(ValueError, match="1-4 wagons"):
        E.sample_train(size=32, n_wagons=7)


def test_the_sample_train_figure_lists_every_wagon_and_the_true_concepts():
    image, row, boxes = E.sample_train(size=64, seed=1, n_wagons=3)
    fig = plots.sample_train(image, row, boxes)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    table = fig.axes[1].tables[0]
    headers = [table[0, j].get_text().get_text() for j in range(4)]
    assert headers == ["attribute", "wagon 1", "wagon 2", "wagon 3"]
    assert table[2, 1].get_text().get_text() == str(row["w1_shape"])
    assert any("LongTrain" in t for t in texts)  # three wagons: a LongTrain by the ontology's rule
    assert sum(t in ("loco", "w1", "w2", "w3") for t in texts) == 4


def test_detector_table_and_figure_carry_every_sample_set():
    D = E.DetectorCheck(
        held_out={"locomotive": 1.0, "wagons": 1.0, "wagons_on_trains": 1.0},
        real_accuracy={"real": 1.0},
        locomotive_share={"real": 1.0, "gen": 0.25},
        wagons={"real": [0, 0.5, 0.5, 0, 0], "gen": [1.0, 0, 0, 0, 0]},
        tv={"gen": 1.0},
        reference={"gen": "real"},
    )
    table = E.detector_table(D)
    assert table.samples.tolist() == ["real", "gen"]
    assert table.loc[1, "wagons_0"] == 1.0 and table.loc[1, "wagon_count_tv"] == 1.0
    fig = plots.detector_readings(D.locomotive_share, D.wagons)
    bars = [p.get_width() for p in fig.axes[0].patches]
    assert bars == [1.0, 0.25]


def test_share_curves_start_the_continuations_where_pre_training_ended():
    pre = [0.1, 0.3, 0.5]
    fig = plots.share_curves({"without steering": [0.45, 0.4], "with steering": [0.9, 0.97]}, "LongTrain", pre)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")}
    assert list(lines["pre-training (no steering)"].get_xdata()) == [1, 2, 3]
    for name in ("without steering", "with steering"):
        xs, ys = list(lines[name].get_xdata()), list(lines[name].get_ydata())
        assert xs == [3, 4, 5] and ys[0] == pre[-1]  # drawn on from the last pre-training epoch
    # without pre-training the runs are drawn from epoch 1
    fig = plots.share_curves({"a": [0.2, 0.4]}, "Bag")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "a"]
    assert list(line.get_xdata()) == [1, 2]


def test_exp1_grids_number_the_continuation_epochs_after_pre_training(monkeypatch):
    imgs = torch.zeros(4, 1, 8, 8)
    snaps = {0: (imgs, torch.tensor([1, 0, 1, 1])), 1: (imgs, torch.tensor([0, 0, 0, 1]))}
    asked = []
    monkeypatch.setattr(E, "snapshots", lambda cfg, compute: asked.append(compute) or snaps)
    trained = SimpleNamespace(record={"compute": "cpu-1"})  # trained in a one-thread worker
    X = E.Experiment1({"run": None}, {"run": trained}, {}, "LongTrain", 1, None, [0.1] * 36)
    grid, epochs = E.exp1_grids(X, n_epochs=2, per_epoch=3)["run"]
    assert asked == ["cpu-1"]  # the snapshots of the run as it was trained, not at this process's thread count
    assert epochs == [36, 37]  # plotted as 37 and 38: the epochs after the 36 of pre-training
    assert grid.shape == (6, 1, 8, 8)
    # epoch 1 has one image of the class: the rest of its column is black padding
    assert (grid.view(3, 2, 1, 8, 8)[1:, 1] == -1).all() and (grid.view(3, 2, 1, 8, 8)[:, 0] == 0).all()


def test_models_trained_side_by_side_are_the_ones_every_step_loads(tmp_genxai, monkeypatch):
    """``train`` with ``workers = 2`` trains in one-thread processes; the steps after it load exactly those models
    (no second training at this process's thread count) and the run record sees one compute tag per model.  Also:
    the TypeA subgroup table reuses the accuracy row's predictions."""
    from genxai import profiles
    from genxai.models import accuracy, cache
    from genxai.recorder import RunRecorder

    monkeypatch.setenv("GENXAI_THREADS", "2")
    monkeypatch.setattr(cache, "USED", [])
    Q = E.settings(profiles.get("trains", "smoke"), "smoke", "trains")
    assert Q.workers == 2
    dev = torch.device("cpu")
    M = E.train(Q, "trains", seed=0, dev=dev)
    table = E.model_table(Q, M, dev)
    assert set(table["trained on"]) == {"cpu-1"} and table.key.is_unique and len(table) == 7
    trained = sorted(p.name for p in cache.paths.cache_dir("models").rglob("*.pt"))
    C = E.classifiers(Q, "trains", seed=0, dev=dev)
    # the TypeA subgroup table reads the predictions behind the accuracy row and adds up to it
    model, et = C.extras["TypeA"]
    assert C.correct["TypeA"].shape == et.labels.shape
    assert C.accuracy["TypeA"] == accuracy(model, et.images, et.labels)  # the stored predictions are the model's
    groups = E.typea_subgroups(C)
    assert int(groups.n.sum()) == len(et.labels)
    assert float((groups.accuracy * groups.n).sum() / groups.n.sum()) == pytest.approx(C.accuracy["TypeA"], abs=1e-6)
    X1 = E.experiment1(Q, C, seed=0, dev=dev)
    assert all(len(images) for images, _ in E.exp1_grids(X1, Q.grid_epochs).values())
    assert sorted(p.name for p in cache.paths.cache_dir("models").rglob("*.pt")) == trained  # nothing retrained
    assert {m["compute"] for m in RunRecorder.models()} == {"cpu-1"}  # and no config at two thread counts
    # `genxai reproduce --workers 2` gives each notebook one thread: no worker processes then, and the same
    # one-thread models (the same keys) as side by side
    monkeypatch.setenv("GENXAI_THREADS", "1")
    assert E.classifiers(Q, "trains", seed=0, dev=dev).accuracy == C.accuracy
    assert sorted(p.name for p in cache.paths.cache_dir("models").rglob("*.pt")) == trained
