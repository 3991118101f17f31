"""Procedural trains after the XTRAINS ontology (de Sousa Ribeiro et al., arXiv 2012.12115).

Our own generator (no code or images of XTRAINS): a locomotive and 1-4 wagons, each with a
length, body shape, roof, wheel count and optional cargo; nuisance factors (angle, wagon
spacing, coupler height, scale, colours, procedural background).  Every ontology concept is
computed by its *closed-world* rule (GCIs read as definitions, as a label generator needs):
see :func:`concepts`.  Rendering uses PIL polygons drawn at 2x and box-downsampled (cheap
anti-aliasing, so small cargo shapes stay distinguishable) on a transparent canvas laid over the
background, one seeded numpy generator per image: the same seed gives the same bytes.

>>> imgs, table, boxes = render_trains(8, size=64, seed=0)   # uint8 (8, 64, 64, 3), pandas
>>> ds = genxai.data.load("trains", "train", task="TypeA", n_images=2000, img_size=64)
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from . import register
from .base import ImageSet, from_uint8

SHAPES = ("box", "ellipse", "hexagon", "reinforced", "superellipse", "trapezoid")
ROOFS = ("ellipse", "flat", "open", "saw", "triangular")
CARGO = ("circle", "diamond", "hexagon", "inv_triangle", "m_square", "rectangle", "s_square", "triangle", "xl_square")
WHEELS = (2, 3, 4)
# Version of this generator (a hash of this file), recorded with the images it renders.  Model cache keys
# already cover this file (genxai.models.cache derives them from every data loader a config names).
RENDERER = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
TASKS = (
    "TypeA",
    "TypeB",
    "TypeC",
    "TypeD",
    "EmptyTrain",
    "LongTrain",
    "FreightTrain",
    "PassengerTrain",
    "WarTrain",
    "MixedTrain",
    "RuralTrain",
    "LongFreightTrain",
    "LongPassengerTrain",
)


@dataclass
class Wagon:
    length: int = 1  # 1 short, 2 long (ontology wagon_length)
    shape: str = "box"  # body shape, one of SHAPES
    roof: str = "flat"  # one of ROOFS; ellipse <=> ellipse body, flat <=> hexagon body
    wheels: int = 2  # visible wheels
    cargo: str | None = None  # content shape (None: empty wagon)
    quantity: int = 0  # 1-3 items of cargo (0 when empty)


@dataclass
class Train:
    wagons: list[Wagon] = field(default_factory=list)  # 1-4 wagons behind the locomotive
    wheel_size: int = 2  # 1-4, one per train (LargeWheelTrain: 3)


# ----------------------------------------------------------------------------- concepts
def wagon_concepts(w: Wagon) -> dict[str, bool]:
    """Wagon-level classes of the ontology."""
    passenger = w.cargo == "circle"
    freight = w.cargo is not None and not passenger
    return {
        "PassengerCar": passenger,
        "FreightWagon": freight,
        "EmptyWagon": w.cargo is None,
        "ReinforcedCar": w.shape == "reinforced",
        "OpenRoofCar": w.roof == "open",
        "LongWagon": w.length == 2,
        "ShortWagon": w.length == 1,
        "CosyWagon": w.length == 1 and not freight and w.roof != "open",
    }


def concepts(t: Train) -> dict[str, bool]:
    """Every train-level concept by its closed-world rule (notes, section 4)."""
    ws = [wagon_concepts(w) for w in t.wagons]
    some = lambda k: any(w[k] for w in ws)
    count = lambda k: sum(w[k] for w in ws)
    c = {
        k: some(k)
        for k in (
            "PassengerCar",
            "FreightWagon",
            "EmptyWagon",
            "ReinforcedCar",
            "OpenRoofCar",
            "LongWagon",
            "CosyWagon",
        )
    }
    c["EmptyTrain"] = len(ws) > 0 and all(w["EmptyWagon"] for w in ws)
    c["LongTrain"] = count("LongWagon") >= 2 or len(ws) >= 3
    c["FreightTrain"] = count("FreightWagon") >= 2
    c["PassengerTrain"] = any(w["LongWagon"] and w["PassengerCar"] for w in ws) or count("PassengerCar") >= 2
    c["WarTrain"] = some("PassengerCar") and some("ReinforcedCar")
    c["MixedTrain"] = some("EmptyWagon") and some("FreightWagon") and some("PassengerCar")
    c["RuralTrain"] = (not some("LongWagon")) and some("EmptyWagon") and (some("FreightWagon") or some("PassengerCar"))
    c["LongFreightTrain"] = c["LongTrain"] and c["FreightTrain"]
    c["LongPassengerTrain"] = c["LongTrain"] and c["PassengerTrain"]
    c["TypeA"] = c["EmptyTrain"] or c["WarTrain"]
    c["TypeB"] = c["LongFreightTrain"] or c["PassengerTrain"]
    c["TypeC"] = c["MixedTrain"] or c["RuralTrain"]
    c["TypeD"] = some("CosyWagon") and some("PassengerCar")
    c["Other"] = not (c["TypeA"] or c["TypeB"] or c["TypeC"])
    c["LargeWheelTrain"] = t.wheel_size == 3
    return c


def sample_train(rng: np.random.Generator) -> Train:
    """A random train respecting the ontology's constraints."""
    wagons = []
    for _ in range(int(rng.integers(1, 5))):
        shape = SHAPES[rng.integers(len(SHAPES))]
        if shape == "ellipse":
            roof = "ellipse"
        elif shape == "hexagon":
            roof = "flat"
        else:
            roof = ("open", "saw", "triangular")[rng.integers(3)]
        r = rng.random()
        cargo = None if r < 0.3 else ("circle" if r < 0.6 else CARGO[1 + rng.integers(len(CARGO) - 1)])
        wagons.append(
            Wagon(
                int(rng.integers(1, 3)),
                shape,
                roof,
                int(WHEELS[rng.integers(3)]),
                cargo,
                0 if cargo is None else int(rng.integers(1, 4)),
            )
        )
    return Train(wagons, int(rng.integers(1, 5)))


# ----------------------------------------------------------------------------- geometry
@functools.lru_cache(maxsize=64)
def _unit_arc(n: int, a0: float, a1: float) -> np.ndarray:
    a = np.linspace(a0, a1, n, endpoint=a1 - a0 < 2 * np.pi - 1e-6)
    return np.stack([np.cos(a), np.sin(a)], 1)


def _ellipse(cx, cy, rx, ry, n=16, a0=0.0, a1=2 * np.pi):
    return _unit_arc(n, a0, a1) * (rx, ry) + (cx, cy)


@functools.lru_cache(maxsize=1)
def _superellipse_unit() -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    c, s = np.cos(a), np.sin(a)
    return np.stack([np.sign(c) * np.abs(c) ** 0.4, np.sign(s) * np.abs(s) ** 0.4], 1)


def _body(shape: str, x0, x1, y0, y1):
    """Polygon of a wagon body (train frame, y up is negative)."""
    w, h = x1 - x0, y1 - y0
    if shape in ("box", "reinforced"):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    if shape == "trapezoid":
        return np.array([[x0 - 0.1 * w, y0], [x1 + 0.1 * w, y0], [x1 - 0.1 * w, y1], [x0 + 0.1 * w, y1]])
    if shape == "hexagon":
        d = 0.3 * h
        return np.array([[x0 + d, y0], [x1 - d, y0], [x1, y0 + h / 2], [x1 - d, y1], [x0 + d, y1], [x0, y0 + h / 2]])
    if shape == "ellipse":
        return _ellipse((x0 + x1) / 2, (y0 + y1) / 2, w / 2, h / 2, 20)
    if shape == "superellipse":
        return _superellipse_unit() * (w / 2, h / 2) + ((x0 + x1) / 2, (y0 + y1) / 2)
    raise ValueError(f"unknown wagon shape {shape!r}; use one of {SHAPES}")


def _roof(roof: str, x0, x1, y0):
    """Polygon(s) of a roof sitting on the body top y0 (None for an open roof)."""
    w, h = x1 - x0, 0.28
    if roof == "open":
        return None
    if roof == "flat":
        return np.array([[x0 - 0.05, y0], [x1 + 0.05, y0], [x1 + 0.05, y0 - 0.12], [x0 - 0.05, y0 - 0.12]])
    if roof == "triangular":
        return np.array([[x0, y0], [x1, y0], [(x0 + x1) / 2, y0 - h]])
    if roof == "saw":
        k = max(2, int(round(w / 0.3)))
        xs = np.linspace(x0, x1, k + 1)
        pts = (
            [[x0, y0]]
            + [[xs[i + 1], y0 - h] if j == 0 else [xs[i + 1], y0] for i in range(k) for j in (0, 1)]
            + [[x1, y0]]
        )
        return np.array(pts)
    if roof == "ellipse":
        return _ellipse((x0 + x1) / 2, y0 + 0.05, w / 2, h, 12, np.pi, 2 * np.pi)
    raise ValueError(f"unknown roof {roof!r}; use one of {ROOFS}")


_CARGO_UNIT = {
    "diamond": np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], float),
    "triangle": np.array([[-1, 1], [1, 1], [0, -1]], float),
    "inv_triangle": np.array([[-1, -1], [1, -1], [0, 1]], float),
    "rectangle": np.array([[-1, -0.5], [1, -0.5], [1, 0.5], [-1, 0.5]], float),
    **{
        k: np.array([[-h, -h], [h, -h], [h, h], [-h, h]], float)
        for k, h in (("s_square", 0.55), ("m_square", 0.8), ("xl_square", 1.0))
    },
}


def _cargo(shape: str, cx, cy, r):
    if shape == "circle":
        return _ellipse(cx, cy, r, r, 12)
    if shape == "hexagon":
        return _ellipse(cx, cy, r, r, 6, 0.0, 2 * np.pi)[:6]
    return _CARGO_UNIT[shape] * r + (cx, cy)


# Proportions (train units; body height 1).  The locomotive is short and wagons sit close, so the
# wagons, their cargo and the reinforced car's cross bars keep several pixels even at 64 px.
WAGON_LEN = {1: 1.35, 2: 2.0}
BODY_H = 1.0
LOCO_LEN = 1.5
MAX_SPACING = 0.22
MAX_LEN = LOCO_LEN + 4 * (WAGON_LEN[2] + MAX_SPACING)
# Trains up to FIT_LEN long are drawn at one scale, longer ones are shrunk to the frame: every train
# is drawn larger than if the longest possible train (MAX_LEN) set the scale, and since FIT_LEN lies
# above the shortest LongTrain (three short or two long wagons), a train's drawn length still grows
# with its length up to there, so the length cue that tells LongTrain apart survives.
FIT_LEN = 6.5
CARGO_R = 0.3  # largest cargo half-size; smaller when three items share a short wagon
BAR_HALF = 0.075  # half width of the reinforced car's cross bars
CARGO_WINDOW = 1.45  # size of the body-coloured window under each cargo item, relative to the item


def layout(t: Train, spacing: float, coupler: float):
    """Primitives in the train frame: list of (part, kind, polygon, colour key)."""
    r = 0.1 + 0.035 * t.wheel_size
    base = -2 * r  # bottom of bodies
    prims = []
    x = 0.0
    # locomotive: boiler, cabin, chimney, wheels
    prims.append(
        ("locomotive", "body", np.array([[x, base], [x + 1.0, base], [x + 1.0, base - 0.75], [x, base - 0.75]]), "loco")
    )
    prims.append(
        (
            "locomotive",
            "body",
            np.array([[x + 1.0, base], [x + LOCO_LEN, base], [x + LOCO_LEN, base - 1.2], [x + 1.0, base - 1.2]]),
            "loco",
        )
    )
    prims.append(
        (
            "locomotive",
            "body",
            np.array(
                [[x + 0.15, base - 0.75], [x + 0.35, base - 0.75], [x + 0.35, base - 1.05], [x + 0.15, base - 1.05]]
            ),
            "dark",
        )
    )
    for wx in (x + 0.28, x + 0.75, x + 1.22):
        prims.append(("locomotive", "wheel", _ellipse(wx, -r, r, r, 10), "dark"))
    x += LOCO_LEN
    for i, w in enumerate(t.wagons):
        part = f"wagon{i + 1}"
        prims.append(
            (
                part,
                "coupler",
                np.array(
                    [
                        [x, base - coupler],
                        [x + spacing, base - coupler],
                        [x + spacing, base - coupler - 0.07],
                        [x, base - coupler - 0.07],
                    ]
                ),
                "dark",
            )
        )
        x0, x1 = x + spacing, x + spacing + WAGON_LEN[w.length]
        y0, y1 = base - BODY_H, base
        prims.append((part, "body", _body(w.shape, x0, x1, y0, y1), "body"))
        if w.shape == "reinforced":  # cross bars: the visible mark of a reinforced car
            d = np.array([x1 - x0, y1 - y0])
            nrm = np.array([-d[1], d[0]]) / np.hypot(*d) * BAR_HALF
            for a, b in (((x0, y0), (x1, y1)), ((x0, y1), (x1, y0))):
                n_ = nrm if a[1] == y0 else nrm * (1, -1)
                prims.append(
                    (
                        part,
                        "bar",
                        np.array([np.add(a, n_), np.add(b, n_), np.subtract(b, n_), np.subtract(a, n_)]),
                        "dark",
                    )
                )
        roof = _roof(w.roof, x0, x1, y0)
        if roof is not None:
            prims.append((part, "roof", roof, "roof"))
        for k in range(w.wheels):
            cx = x0 + 0.25 + (x1 - x0 - 0.5) * k / (w.wheels - 1)
            prims.append((part, "wheel", _ellipse(cx, -r, r, r, 10), "dark"))
        if w.cargo is not None:
            pitch = (x1 - x0 - 0.1) / w.quantity
            cr = min(CARGO_R, 0.44 * pitch)
            for k in range(w.quantity):
                cx, cy = x0 + 0.05 + pitch * (k + 0.5), (y0 + y1) / 2
                # a body-coloured window around each item: without it, black cargo drawn over a
                # reinforced car's dark cross bars merged with them, its shape was invisible, and
                # a TypeA classifier (which needs circles next to a reinforced car) stalled at 0.90
                prims.append((part, "cargo_window", _cargo(w.cargo, cx, cy, cr * CARGO_WINDOW), "body"))
                prims.append((part, "cargo", _cargo(w.cargo, cx, cy, cr), "cargo"))
        x = x1
    return prims, x


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Procedural background: a smooth random colour field plus low-frequency stripes.

    Computed on a coarse grid (at most 32 x 32; it is smooth) and upsampled by the caller."""
    n = min(size, 32)
    grid = rng.uniform(60, 200, (3, 3, 3)).astype(np.float32)
    base = rng.uniform(70, 190, 3).astype(np.float32)
    t = np.linspace(0, 2, n, dtype=np.float32)
    i0 = np.minimum(t.astype(int), 1)
    f = t - i0
    # bilinear upsampling of the 3x3 colour grid
    rows = grid[i0] * (1 - f)[:, None, None] + grid[i0 + 1] * f[:, None, None]  # (n, 3, 3)
    img = rows[:, i0] * (1 - f)[None, :, None] + rows[:, i0 + 1] * f[None, :, None]  # (n, n, 3)
    img = 0.5 * img + 0.5 * base
    freq, phase = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
    stripes = 12 * np.sin(freq * np.pi * t[None, :] + phase + 3 * t[:, None])
    return np.clip(img + stripes[..., None], 0, 255)


def _colour(rng, low=0, high=255):
    return tuple(rng.integers(low, high, 3).tolist())


def render(t: Train, rng: np.random.Generator, size: int = 152, max_angle: float = 12.0):
    """One train -> (uint8 HxWx3 image, nuisance dict, list of (part, x0, y0, x1, y1) boxes)."""
    spacing = float(rng.uniform(0.08, MAX_SPACING))
    coupler = float(rng.uniform(0.15, 0.5))
    angle = float(rng.uniform(-max_angle, max_angle))
    scale = float(rng.uniform(0.9, 1.0))
    prims, length = layout(t, spacing, coupler)
    ss = 2  # supersampling factor
    px = size * ss * 0.92 / max(length, FIT_LEN) * scale
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.array([length / 2, -0.9])
    slack = 1 - length / max(length, FIT_LEN) * scale
    offset = np.array([size * ss / 2, size * ss / 2]) + rng.uniform(-0.08, 0.08, 2) * size * ss * slack
    body_col = _colour(rng, 40, 256)
    lum = 0.3 * body_col[0] + 0.6 * body_col[1] + 0.1 * body_col[2]
    colours = {
        "body": body_col,
        "roof": _colour(rng),
        "loco": _colour(rng, 30, 230),
        "dark": (20, 20, 25),
        "cargo": (255, 255, 255) if lum < 140 else (10, 10, 10),
    }
    # the train is drawn at ss x ss on a transparent canvas and box-downsampled (cheap anti-aliasing);
    # its colour channels are then premultiplied by coverage and laid over the background, which is
    # computed coarse and upsampled by PIL to the final size only (it is smooth: no detail lost)
    bg = Image.fromarray(_background(rng, size).astype(np.uint8))
    if bg.size[0] != size:
        bg = bg.resize((size, size), Image.BILINEAR)
    im = Image.new("RGBA", (size * ss, size * ss))
    draw = ImageDraw.Draw(im)
    colours = {k: (*v, 255) for k, v in colours.items()}
    # one affine transform for all polygons, then draw each
    pts = np.concatenate([p[2] for p in prims])
    xy = (pts - centre) @ (rot.T * px) + offset
    ends = np.cumsum([len(p[2]) for p in prims])
    starts = ends - np.array([len(p[2]) for p in prims])
    flat = xy.ravel().tolist()
    for (_part, _kind, _poly, ck), s, e in zip(prims, starts.tolist(), ends.tolist()):
        draw.polygon(flat[2 * s : 2 * e], fill=colours[ck])
    lo, hi = np.minimum.reduceat(xy, starts) / ss, np.maximum.reduceat(xy, starts) / ss
    boxes: dict[str, list[float]] = {}
    for (part, *_), l_, h_ in zip(prims, lo.tolist(), hi.tolist()):
        b = boxes.get(part)
        if b is None:
            boxes[part] = [l_[0], l_[1], h_[0], h_[1]]
        else:
            b[:] = [min(b[0], l_[0]), min(b[1], l_[1]), max(b[2], h_[0]), max(b[3], h_[1])]
    fg = np.asarray(im.reduce(ss), dtype=np.float32)
    img = fg[..., :3] + np.asarray(bg, dtype=np.float32) * (1 - fg[..., 3:] / 255)
    nuisance = {
        "Angle": angle,
        "WagonSpacing": spacing,
        "CouplerHeight": coupler,
        "Scale": scale,
        "BodyColour": "#{:02x}{:02x}{:02x}".format(*body_col),
    }
    return (img + 0.5).astype(np.uint8), nuisance, [(k, *np.clip(v, 0, size).tolist()) for k, v in boxes.items()]


def describe(t: Train) -> dict:
    """Per-image attribute row: concepts, counts, per-wagon attributes."""
    ws = [wagon_concepts(w) for w in t.wagons]
    row = {k: bool(v) for k, v in concepts(t).items()}
    row.update(
        NumberOfWagons=len(t.wagons),
        NumberOfLongWagons=sum(w["LongWagon"] for w in ws),
        NumberOfFreightWagons=sum(w["FreightWagon"] for w in ws),
        NumberOfPassengerCars=sum(w["PassengerCar"] for w in ws),
        TotalCargoQuantity=sum(w.quantity for w in t.wagons),
        WheelSize=t.wheel_size,
    )
    for i in range(4):
        w = t.wagons[i] if i < len(t.wagons) else None
        for k in ("length", "shape", "roof", "wheels", "cargo", "quantity"):
            row[f"w{i + 1}_{k}"] = getattr(w, k) if w is not None else None
    return row


def sample_balanced(n: int, task: str | None, rng: np.random.Generator) -> list[Train]:
    """``n`` trains; for a task, half positive and half negative (rejection sampling), interleaved."""
    if task is None:
        return [sample_train(rng) for _ in range(n)]
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {TASKS}")
    need = [n - n // 2, n // 2]  # negatives, positives
    pools: list[list[Train]] = [[], []]
    while len(pools[0]) < need[0] or len(pools[1]) < need[1]:
        t = sample_train(rng)
        y = int(concepts(t)[task])
        if len(pools[y]) < need[y]:
            pools[y].append(t)
    order = rng.permutation(n)
    both = pools[0] + pools[1]
    return [both[i] for i in order]


def render_trains(
    n: int, size: int = 152, seed: int = 0, task: str | None = None, trains: list[Train] | None = None, workers: int = 1
):
    """``n`` trains (balanced for ``task``) -> uint8 (n, size, size, 3), attribute table, box table."""
    trains = trains if trains is not None else sample_balanced(n, task, np.random.default_rng(seed))
    chunks = [(trains[i : i + 500], size, seed, i) for i in range(0, len(trains), 500)]
    if workers > 1 and len(chunks) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_render_chunk, chunks)
    else:
        parts = [_render_chunk(c) for c in chunks]
    images = np.concatenate([p[0] for p in parts]) if parts else np.empty((0, size, size, 3), np.uint8)
    rows = [r for p in parts for r in p[1]]
    box_rows = [r for p in parts for r in p[2]]
    return images, pd.DataFrame(rows), pd.DataFrame(box_rows)


def _render_chunk(args):
    """Render trains[start:start+k]; image i has its own generator (seed, i), so the bytes do not
    depend on how the work is split between processes."""
    trains, size, seed, start = args
    images = np.empty((len(trains), size, size, 3), np.uint8)
    rows, box_rows = [], []
    for j, t in enumerate(trains):
        i = start + j
        images[j], nuisance, boxes = render(t, np.random.default_rng([seed, i, 1]), size)
        rows.append({**describe(t), **nuisance})
        box_rows += [{"image": i, "part": p, "x0": a, "y0": b, "x1": c, "y1": d} for p, a, b, c, d in boxes]
    return images, rows, box_rows


@functools.lru_cache(maxsize=8)
def _cached(n: int, size: int, seed: int, task: str | None):
    return render_trains(n, size, seed, task, workers=2)


@register("trains")
def load_trains(
    split: str,
    task: str = "TypeA",
    n_images: int = 10000,
    img_size: int = 64,
    seed: int = 0,
    renderer: str | None = None,
) -> ImageSet:
    """A balanced binary data set for ``task`` (labels: 0 = not task, 1 = task).

    Train and test splits come from disjoint seed streams (``seed*2`` and ``seed*2+1``).
    ``extra["table"]`` holds the attribute table (a pandas DataFrame) and ``extra["boxes"]``
    the bounding boxes.  ``renderer``: if given, it must be :data:`RENDERER` (configs of cached
    models record the generator version their images came from; see :data:`RENDERER`).
    """
    if renderer is not None and renderer != RENDERER:
        raise ValueError(
            f"these settings ask for trains renderer {renderer}, but this genxai draws trains with "
            f"renderer {RENDERER}: pass renderer=genxai.data.trains.RENDERER (models are retrained)"
        )
    images, table, boxes = _cached(n_images, img_size, seed * 2 + (split == "test"), task)
    labels = table[task].to_numpy().astype(np.int64) if task else np.zeros(len(table), np.int64)
    return ImageSet(
        from_uint8(images),
        __import__("torch").as_tensor(labels),
        (f"not {task}", task),
        "trains",
        split,
        f"procedural trains (genxai.data.trains, seed {seed}, {img_size}px)",
        {"table": table, "boxes": boxes},
    )
