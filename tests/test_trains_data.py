"""The procedural trains: every ontology rule on hand-built trains, determinism, balance, boxes."""

import numpy as np
import pytest

from genxai.data import trains as T

W = T.Wagon


def c(*wagons, wheel_size=2):
    return T.concepts(T.Train(list(wagons), wheel_size))


def test_wagon_rules():
    assert T.wagon_concepts(W(cargo="circle", quantity=2))["PassengerCar"]
    assert T.wagon_concepts(W(cargo="diamond", quantity=1))["FreightWagon"]
    assert not T.wagon_concepts(W(cargo="circle", quantity=1))["FreightWagon"]
    assert T.wagon_concepts(W())["EmptyWagon"]
    assert T.wagon_concepts(W(shape="reinforced", roof="saw"))["ReinforcedCar"]
    assert T.wagon_concepts(W(roof="open"))["OpenRoofCar"]
    assert T.wagon_concepts(W(length=2))["LongWagon"] and not T.wagon_concepts(W(length=2))["ShortWagon"]
    # CosyWagon = short, not freight, not open roof
    assert T.wagon_concepts(W(length=1, cargo="circle", quantity=1))["CosyWagon"]
    assert not T.wagon_concepts(W(length=1, roof="open"))["CosyWagon"]
    assert not T.wagon_concepts(W(length=1, cargo="triangle", quantity=1))["CosyWagon"]
    assert not T.wagon_concepts(W(length=2))["CosyWagon"]


def test_empty_train():
    assert c(W(), W())["EmptyTrain"]
    assert not c(W(), W(cargo="circle", quantity=1))["EmptyTrain"]
    assert not T.concepts(T.Train([]))["EmptyTrain"]


def test_long_train():
    assert c(W(length=2), W(length=2))["LongTrain"]  # >= 2 long wagons
    assert c(W(), W(), W())["LongTrain"]  # >= 3 wagons
    assert not c(W(length=2), W())["LongTrain"]


def test_freight_and_passenger_train():
    assert c(W(cargo="diamond", quantity=1), W(cargo="xl_square", quantity=3))["FreightTrain"]
    assert not c(W(cargo="diamond", quantity=1), W(cargo="circle", quantity=1))["FreightTrain"]
    assert c(W(length=2, cargo="circle", quantity=1))["PassengerTrain"]  # a long passenger car
    assert c(W(cargo="circle", quantity=1), W(cargo="circle", quantity=2))["PassengerTrain"]  # two
    assert not c(W(length=1, cargo="circle", quantity=1), W())["PassengerTrain"]


def test_war_mixed_rural():
    assert c(W(cargo="circle", quantity=1), W(shape="reinforced", roof="saw"))["WarTrain"]
    assert c(W(shape="reinforced", roof="saw", cargo="circle", quantity=1))["WarTrain"]
    assert not c(W(shape="reinforced", roof="saw", cargo="diamond", quantity=1))["WarTrain"]
    assert c(W(), W(cargo="diamond", quantity=1), W(cargo="circle", quantity=1))["MixedTrain"]
    assert not c(W(), W(cargo="diamond", quantity=1))["MixedTrain"]
    assert c(W(), W(cargo="diamond", quantity=1))["RuralTrain"]
    assert not c(W(length=2), W(cargo="diamond", quantity=1))["RuralTrain"]  # a long wagon
    assert not c(W(), W())["RuralTrain"]  # no loaded wagon


def test_types():
    empty = c(W())
    assert empty["TypeA"] and not empty["Other"]
    war = c(W(cargo="circle", quantity=1), W(shape="reinforced", roof="saw"))
    assert war["TypeA"]
    lft = c(W(length=2, cargo="diamond", quantity=1), W(length=2, cargo="hexagon", quantity=1))
    assert lft["LongFreightTrain"] and lft["TypeB"]
    rural = c(W(), W(cargo="diamond", quantity=1))
    assert rural["TypeC"] and not rural["TypeA"]
    cosy = c(W(length=1, cargo="circle", quantity=1))
    assert cosy["TypeD"]
    other = c(W(length=1, cargo="diamond", quantity=1))
    assert other["Other"] and not (other["TypeA"] or other["TypeB"] or other["TypeC"])


def test_sampled_trains_respect_constraints():
    rng = np.random.default_rng(0)
    for _ in range(300):
        t = T.sample_train(rng)
        assert 1 <= len(t.wagons) <= 4
        for w in t.wagons:
            assert (w.roof == "ellipse") == (w.shape == "ellipse")
            assert (w.roof == "flat") == (w.shape == "hexagon")
            assert (w.cargo is None) == (w.quantity == 0)


def test_render_deterministic_and_worker_independent():
    a, ta, ba = T.render_trains(40, 48, seed=5, task="LongTrain")
    b, tb, bb = T.render_trains(40, 48, seed=5, task="LongTrain")
    assert a.tobytes() == b.tobytes() and ta.equals(tb)
    d, _, _ = T.render_trains(40, 48, seed=6, task="LongTrain")
    assert a.tobytes() != d.tobytes()
    trains = T.sample_balanced(1200, "TypeA", np.random.default_rng(0))
    one, _, _ = T.render_trains(0, 32, seed=1, trains=trains, workers=1)
    two, _, _ = T.render_trains(0, 32, seed=1, trains=trains, workers=2)
    assert one.tobytes() == two.tobytes()


def test_balanced_and_table():
    imgs, table, boxes = T.render_trains(60, 64, seed=0, task="TypeC")
    assert imgs.shape == (60, 64, 64, 3) and imgs.dtype == np.uint8
    assert table["TypeC"].sum() == 30
    # the table's concepts agree with a recomputation from the per-wagon attributes
    for _, row in table.iterrows():
        ws = [
            W(
                int(row[f"w{i}_length"]),
                row[f"w{i}_shape"],
                row[f"w{i}_roof"],
                int(row[f"w{i}_wheels"]),
                row[f"w{i}_cargo"] if isinstance(row[f"w{i}_cargo"], str) else None,
                int(row[f"w{i}_quantity"]),
            )
            for i in range(1, 5)
            if isinstance(row[f"w{i}_shape"], str)
        ]
        assert len(ws) == row["NumberOfWagons"]
        assert T.concepts(T.Train(ws, int(row["WheelSize"])))["TypeC"] == row["TypeC"]
    # one box for the locomotive and one per wagon, inside the image
    per_image = boxes.groupby("image").size()
    assert (per_image.values == table["NumberOfWagons"].values + 1).all()
    assert ((boxes[["x0", "y0", "x1", "y1"]] >= 0) & (boxes[["x0", "y0", "x1", "y1"]] <= 64)).all().all()
    assert (boxes.x1 > boxes.x0).all() and (boxes.y1 > boxes.y0).all()


def test_loader_split_and_labels():
    from genxai import data

    tr = data.load("trains", "train", task="WarTrain", n_images=40, img_size=32)
    te = data.load("trains", "test", task="WarTrain", n_images=40, img_size=32)
    assert tr.images.shape == (40, 3, 32, 32) and tr.images.min() >= -1 and tr.images.max() <= 1
    assert int(tr.labels.sum()) == 20 and tr.classes == ("not WarTrain", "WarTrain")
    assert not np.array_equal(tr.images.numpy(), te.images.numpy())
    with pytest.raises(ValueError, match="unknown task"):
        T.render_trains(4, 32, task="NoSuchTrain")


@pytest.mark.parametrize("cargo", T.CARGO)
def test_cargo_sits_in_a_body_coloured_window_over_the_cross_bars(cargo):
    """Cargo is white or black and the reinforced car's cross bars are dark: black cargo drawn straight
    over the bars merged with them and its shape (circle = passengers, needed for WarTrain/TypeA) was
    invisible.  Every cargo item now has a window in the body colour, drawn after the bars, around it."""
    from matplotlib.path import Path

    t = T.Train([W(1, "reinforced", "saw", 2, cargo, q) for q in (1, 2, 3)] + [W(2, "reinforced", "open", 3, cargo, 1)])
    prims, _ = T.layout(t, 0.1, 0.3)
    n_cargo = 0
    for i, (part, kind, poly, _colour) in enumerate(prims):
        if kind != "cargo":
            continue
        n_cargo += 1
        w_part, w_kind, window, w_colour = prims[i - 1]
        assert (w_part, w_kind, w_colour) == (part, "cargo_window", "body")
        bars = [j for j, p in enumerate(prims) if p[0] == part and p[1] == "bar"]
        assert len(bars) == 2 and max(bars) < i - 1  # drawn over the bars
        centre = poly.mean(0)
        inner = centre + (poly - centre) * 0.99
        assert Path(window).contains_points(inner).all()  # the item lies inside its window
        assert (np.ptp(window, 0) > 1.3 * np.ptp(poly, 0)).all()  # with a margin of body colour
    assert n_cargo == 1 + 2 + 3 + 1
