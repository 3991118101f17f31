"""The study's items: the JSON spec + GIFs, and the questions built from them.

A folder of items holds ``items.json`` and the GIF animations it names::

    {
      "format": "genxai-study-items/1",
      "title": "Which change is it?",          # shown on the consent page
      "seed": 0,                               # which examples each question shows (same for everyone)
      "items": [
        {"id": "a3-i12", "group": "MNIST GAN", "attribute": "a3", "image": "12",
         "class": 1, "shift": 3.0, "gif": "gifs/a3-i12.gif"},
        ...
      ]
    }

An item is one animation: ``attribute`` (an id of the explainer's attribute, e.g. a StyleSpace
coordinate and direction) applied to ``image`` (an id of the base image) of predicted ``class`` with
``shift``.  ``group`` is the data set / model the attribute belongs to (one row of Table 2);
``id`` defaults to ``"<attribute>:<image>"``.

Questions follow the two studies of StylEx (Lang et al. 2021, Sec. 4.2; the [Re] StylEx user study):

* **classification** (coherence): for attribute x and the next attribute y of its group, two animations
  of x and two of y are shown as examples; the participant says whether a further animation shows x or y.
  One question per attribute, plus one attention check whose animation is one of x's examples.
* **verbal** (distinctness): up to four animations of one attribute; the participant describes the most
  prominent change in 1-4 words.  One question per attribute.

The questions depend only on the spec (and its seed), so every participant answers the same questions;
each participant sees them in an order drawn from their own recorded seed (:func:`participant_plan`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SPEC_NAME = "items.json"
FORMAT = "genxai-study-items/1"
#: Animations per verbal question (four in the StylEx studies).
VERBAL_ANIMATIONS = 4
#: Example animations per attribute in a classification question.
EXAMPLES_PER_ATTRIBUTE = 2
ATTENTION_ID = "attention"
KINDS = ("classification", "verbal")
_REQUIRED = {"attribute": str, "image": (str, int), "class": (str, int), "shift": (int, float), "gif": str}


class SpecError(ValueError):
    """The items folder or its spec is not usable; the message says what to fix."""


@dataclass(frozen=True)
class Item:
    id: str
    attribute: str
    image: str
    cls: str
    shift: float
    gif: str
    group: str


@dataclass(frozen=True)
class Question:
    """One question; ``truth`` (classification) is the attribute of the animation to classify."""

    id: str
    kind: str
    group: str
    attributes: tuple[str, ...]  # (x, y) for classification, (a,) for verbal
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # attribute -> item ids
    query: str | None = None  # item id to classify
    truth: str | None = None
    animations: tuple[str, ...] = ()  # verbal: item ids to describe
    attention: bool = False

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["attributes"] = list(self.attributes)
        out["examples"] = {k: list(v) for k, v in self.examples.items()}
        out["animations"] = list(self.animations)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Question:
        return cls(
            id=d["id"],
            kind=d["kind"],
            group=d["group"],
            attributes=tuple(d["attributes"]),
            examples={k: tuple(v) for k, v in d.get("examples", {}).items()},
            query=d.get("query"),
            truth=d.get("truth"),
            animations=tuple(d.get("animations", ())),
            attention=bool(d.get("attention", False)),
        )

    def item_ids(self) -> list[str]:
        ids = [i for ex in self.examples.values() for i in ex] + list(self.animations)
        return ids + ([self.query] if self.query else [])


@dataclass
class Spec:
    folder: Path
    title: str
    seed: int
    items: dict[str, Item]
    attributes: dict[str, list[str]]  # group -> attribute ids in order of first appearance
    digest: str  # sha256 of items.json: the study a database belongs to

    def items_of(self, attribute: str) -> list[Item]:
        return [it for it in self.items.values() if it.attribute == attribute]

    def gif_path(self, item_id: str) -> Path:
        return self.folder / self.items[item_id].gif


def _fail(where: str, problem: str, fix: str) -> SpecError:
    return SpecError(f"{where}: {problem}; {fix}")


def _parse_item(raw: Any, index: int, folder: Path, default_group: str) -> Item:
    where = f"{folder / SPEC_NAME} items[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, f"is a {type(raw).__name__}, not an object", "write each item as a JSON object")
    for key, types in _REQUIRED.items():
        if key not in raw:
            raise _fail(where, f"has no {key!r}", f"give every item {', '.join(_REQUIRED)}")
        if not isinstance(raw[key], types) or isinstance(raw[key], bool):
            raise _fail(
                where,
                f"{key!r} is {raw[key]!r}",
                f"{key!r} must be of type "
                f"{' or '.join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))}",
            )
    if not math.isfinite(float(raw["shift"])):
        raise _fail(where, f"shift is {raw['shift']!r}", "give a finite number")
    if not raw["attribute"].strip():
        raise _fail(where, "attribute is empty", "give the attribute an id")
    gif = raw["gif"]
    target = (folder / gif).resolve()
    if Path(gif).is_absolute() or folder.resolve() not in target.parents:
        raise _fail(where, f"gif {gif!r} is outside the items folder", "give a path relative to the folder")
    if not target.is_file():
        raise _fail(where, f"gif {gif!r} does not exist", f"write it into {folder} or fix the path")
    with open(target, "rb") as fh:
        if fh.read(6) not in (b"GIF87a", b"GIF89a"):
            raise _fail(where, f"{gif!r} is not a GIF file", "write the animation with genxai.viz.save_gif")
    group = raw.get("group", default_group)
    if not isinstance(group, str) or not group.strip():
        raise _fail(where, f"group is {group!r}", "give a non-empty string (the data set / model)")
    item_id = raw.get("id", f"{raw['attribute']}:{raw['image']}")
    if not isinstance(item_id, str) or not item_id or len(item_id) > 200:
        raise _fail(where, f"id is {item_id!r}", "give a non-empty string of at most 200 characters")
    return Item(
        id=item_id,
        attribute=raw["attribute"],
        image=str(raw["image"]),
        cls=str(raw["class"]),
        shift=float(raw["shift"]),
        gif=gif,
        group=group,
    )


def load_spec(folder: str | Path) -> Spec:
    """Read and check ``<folder>/items.json``; raise :class:`SpecError` naming any problem."""
    folder = Path(folder).expanduser()
    path = folder / SPEC_NAME
    if not path.is_file():
        raise SpecError(
            f"{path} does not exist: --items must be a folder with {SPEC_NAME} and its GIFs "
            "(write one with genxai.study.make_items.write_items or `genxai study demo-items`)"
        )
    text = path.read_bytes()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"{path} is not valid JSON ({err}); fix the file") from err
    if not isinstance(raw, dict):
        raise SpecError(f"{path} must hold a JSON object with 'format' and 'items'")
    if raw.get("format") != FORMAT:
        raise SpecError(f"{path} has format {raw.get('format')!r}; this app reads {FORMAT!r}")
    items_raw = raw.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise SpecError(f"{path} has no 'items' list; add the animations")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SpecError(f"{path}: seed {seed!r} must be an integer")
    title = raw.get("title", "Which change is it?")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise SpecError(f"{path}: title must be a non-empty string of at most 200 characters")
    default_group = raw.get("group", "default")
    items: dict[str, Item] = {}
    attributes: dict[str, list[str]] = {}
    group_of: dict[str, str] = {}
    for index, entry in enumerate(items_raw):
        item = _parse_item(entry, index, folder, default_group)
        if item.id in items:
            raise SpecError(f"{path}: item id {item.id!r} appears twice; ids must be unique")
        if group_of.setdefault(item.attribute, item.group) != item.group:
            raise SpecError(
                f"{path}: attribute {item.attribute!r} is in groups {group_of[item.attribute]!r} and "
                f"{item.group!r}; an attribute belongs to one data set / model"
            )
        items[item.id] = item
        if item.attribute not in attributes.setdefault(item.group, []):
            attributes[item.group].append(item.attribute)
    spec = Spec(
        folder=folder,
        title=title.strip(),
        seed=seed,
        items=items,
        attributes=attributes,
        digest=hashlib.sha256(text).hexdigest(),
    )
    _check_counts(spec, path)
    return spec


def _check_counts(spec: Spec, path: Path) -> None:
    need = EXAMPLES_PER_ATTRIBUTE + 1
    for group, attrs in spec.attributes.items():
        if len(attrs) < 2:
            raise SpecError(
                f"{path}: group {group!r} has only attribute {attrs[0]!r}; a classification question "
                "needs two attributes of the same group: export at least two"
            )
        for attr in attrs:
            n = len(spec.items_of(attr))
            if n < need:
                raise SpecError(
                    f"{path}: attribute {attr!r} has {n} animation(s); a classification question "
                    f"needs {need} (two examples and one to classify): export at least {need} images "
                    "per attribute"
                )


def build_questions(spec: Spec) -> list[Question]:
    """The study's questions, the same for every participant (drawn with the spec's seed)."""
    rng = random.Random(spec.seed)
    classification: list[Question] = []
    verbal: list[Question] = []
    for group, attrs in spec.attributes.items():
        for i, x in enumerate(attrs):
            y = attrs[(i + 1) % len(attrs)]
            truth = rng.choice((x, y))
            pools = {a: [it.id for it in spec.items_of(a)] for a in (x, y)}
            examples = {}
            for a in (x, y):
                examples[a] = tuple(rng.sample(pools[a], EXAMPLES_PER_ATTRIBUTE))
            query = rng.choice([it for it in pools[truth] if it not in examples[truth]])
            classification.append(
                Question(
                    id=f"C{len(classification) + 1:02d}",
                    kind="classification",
                    group=group,
                    attributes=(x, y),
                    examples=examples,
                    query=query,
                    truth=truth,
                )
            )
            animations = rng.sample(pools[x], min(VERBAL_ANIMATIONS, len(pools[x])))
            verbal.append(
                Question(
                    id=f"V{len(verbal) + 1:02d}",
                    kind="verbal",
                    group=group,
                    attributes=(x,),
                    animations=tuple(animations),
                )
            )
    # The attention check shows, as the animation to classify, one of the examples itself.
    first = classification[0]
    x = first.attributes[0]
    attention = Question(
        id=ATTENTION_ID,
        kind="classification",
        group=first.group,
        attributes=first.attributes,
        examples=first.examples,
        query=first.examples[x][0],
        truth=x,
        attention=True,
    )
    return [*classification, attention, *verbal]


def participant_plan(questions: list[Question], seed: int) -> list[dict[str, Any]]:
    """The order one participant sees (classification block, then verbal), from their seed.

    Each entry: ``question`` id and, for classification, ``swap`` (x's examples on the right) and
    the order of the examples within each attribute.  The attention check is never first.
    """
    rng = random.Random(seed)
    cls = [q for q in questions if q.kind == "classification" and not q.attention]
    verbal = [q for q in questions if q.kind == "verbal"]
    rng.shuffle(cls)
    rng.shuffle(verbal)
    for q in questions:
        if q.attention:
            cls.insert(rng.randint(1, len(cls)), q)
    plan = []
    for q in cls:
        plan.append(
            {
                "question": q.id,
                "swap": rng.random() < 0.5,
                "examples": {a: rng.sample(list(ex), len(ex)) for a, ex in q.examples.items()},
            }
        )
    for q in verbal:
        plan.append({"question": q.id, "animations": rng.sample(list(q.animations), len(q.animations))})
    return plan
