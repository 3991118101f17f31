"""Analysis of a study: Table 2 (coherence), per-attribute accuracy, distinctness, a machine observer.

* :func:`load_responses` reads a study database or its exported CSV (one row per answer, the columns
  of :mod:`genxai.study.export`).
* :func:`table2`: classification accuracy per data set / model, mean ± SD across questions, as in the
  StylEx user study (Lang et al. 2021, Table 2; [Re] StylEx Table 2), with the published rows beside it.
* :func:`per_attribute_accuracy`: accuracy by the attribute of the animation to classify.
* :func:`distinctness`: word overlap (Jaccard) of the verbal descriptions within an attribute vs between
  attributes, after lower-casing and :func:`lemma` (a small built-in rule set).
* :func:`machine_observer`: an automatic coherence score.  It classifies each animation by comparing its
  change in a feature space with the four example animations' changes (nearest by cosine).  Its rows
  carry ``observer = "machine"`` and are never mixed with human answers.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .export import COLUMNS, rows, unescape_cell
from .items import Spec, build_questions, load_spec
from .storage import StudyDB

MACHINE = "machine"
HUMAN = "human"
MACHINE_ID = "machine-observer"
MACHINE_LABEL = "machine observer (automatic score, not human)"


# --------------------------------------------------------------------------- reading
def load_responses(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Answers from a study database (.db/.sqlite), its CSV export, or a DataFrame in that format."""
    if isinstance(source, pd.DataFrame):
        df = source.copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"no responses at {path}: give the study database or the CSV from `genxai study export`"
            )
        with open(path, "rb") as fh:
            is_sqlite = fh.read(16) == b"SQLite format 3\x00"
        if is_sqlite:
            db = StudyDB.snapshot(path)
            try:
                df = pd.DataFrame(rows(db), columns=list(COLUMNS))
            finally:
                db.close()
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False).map(unescape_cell)
    missing = [
        c
        for c in ("participant", "question", "kind", "group", "attention", "attributes", "truth", "answer")
        if c not in df.columns
    ]
    if missing:
        raise ValueError(f"responses lack the column(s) {missing}; use a CSV written by `genxai study export`")
    df = df.copy()
    df["attention"] = df["attention"].map(lambda v: str(v).strip().lower() in ("1", "true", "1.0"))
    if "observer" not in df.columns:
        df["observer"] = HUMAN
    is_cls = df["kind"] == "classification"
    df["correct"] = np.where(is_cls, (df["answer"] == df["truth"]).astype(float), np.nan)
    return df


def published_table2() -> pd.DataFrame:
    """The published Table 2 rows (package data, not code): dataset, study, mean, sd, note."""
    text = resources.files("genxai.study").joinpath("published_table2.json").read_text()
    data = json.loads(text)
    df = pd.DataFrame(data["rows"])
    if "note" not in df:
        df["note"] = ""
    return df.fillna({"note": ""})


# --------------------------------------------------------------------------- coherence
def attention_failures(df: pd.DataFrame) -> set[str]:
    att = df[df["attention"]]
    return set(att.loc[att["answer"] != att["truth"], "participant"])


def question_accuracy(df: pd.DataFrame, exclude_failed_attention: bool = True) -> pd.DataFrame:
    """Accuracy per classification question (attention check excluded): group, question, n, accuracy."""
    cls = df[(df["kind"] == "classification") & ~df["attention"]]
    if exclude_failed_attention:
        cls = cls[~cls["participant"].isin(attention_failures(df))]
    if cls.empty:
        return pd.DataFrame(columns=["observer", "group", "question", "truth", "n", "accuracy"])
    return (
        cls.groupby(["observer", "group", "question", "truth"], sort=True)["correct"]
        .agg(n="count", accuracy="mean")
        .reset_index()
    )


def table2(
    df: pd.DataFrame, exclude_failed_attention: bool = True, ddof: int = 0, with_published: bool = True
) -> pd.DataFrame:
    """Mean accuracy ± SD across questions per group, one row per (group, observer).

    ``ddof=0`` is the population SD (the [Re] StylEx faces rows; its plant row used ddof=1, see the
    published rows' notes).  Human rows say ``humans (this study)``; machine-observer rows say
    :data:`MACHINE_LABEL`; the published rows follow with their source.
    """
    per_q = question_accuracy(df, exclude_failed_attention)
    failed = attention_failures(df) if exclude_failed_attention else set()
    out_rows = []
    for (observer, group), q in per_q.groupby(["observer", "group"], sort=True):
        people = df[
            (df["group"] == group)
            & (df["observer"] == observer)
            & (df["kind"] == "classification")
            & ~df["participant"].isin(failed)
        ]["participant"].nunique()
        out_rows.append(
            {
                "data set / model": group,
                "source": MACHINE_LABEL if observer == MACHINE else "humans (this study)",
                "observer": observer,
                "accuracy": float(q["accuracy"].mean()),
                "sd": float(q["accuracy"].std(ddof=ddof)) if len(q) > ddof else float("nan"),
                "questions": len(q),
                "participants": people,
                "note": "",
            }
        )
    out = pd.DataFrame(
        out_rows,
        columns=["data set / model", "source", "observer", "accuracy", "sd", "questions", "participants", "note"],
    )
    if with_published:
        pub = published_table2()
        pub_rows = pd.DataFrame(
            {
                "data set / model": pub["dataset"],
                "source": pub["study"] + " (published)",
                "observer": HUMAN,
                "accuracy": pub["mean"],
                "sd": pub["sd"],
                "questions": np.nan,
                "participants": np.nan,
                "note": pub["note"],
            }
        )
        out = pd.concat([out, pub_rows], ignore_index=True) if len(out) else pub_rows
    return out


def format_table2(table: pd.DataFrame) -> str:
    """Table 2 as Markdown: ``mean (± sd)`` per row."""
    shown = table.copy()
    shown["accuracy (± SD across questions)"] = [
        f"{a:.3f} (± {s:.3f})" if np.isfinite(s) else f"{a:.3f}" for a, s in zip(shown["accuracy"], shown["sd"])
    ]
    for col in ("questions", "participants"):
        shown[col] = [("" if pd.isna(v) else str(int(v))) for v in shown[col]]
    return shown[
        ["data set / model", "source", "accuracy (± SD across questions)", "questions", "participants", "note"]
    ].to_markdown(index=False)


def per_attribute_accuracy(df: pd.DataFrame, exclude_failed_attention: bool = True) -> pd.DataFrame:
    """Accuracy by the true attribute of the animation to classify: observer, group, attribute, n, accuracy."""
    cls = df[(df["kind"] == "classification") & ~df["attention"]]
    if exclude_failed_attention:
        cls = cls[~cls["participant"].isin(attention_failures(df))]
    return (
        cls.groupby(["observer", "group", "truth"], sort=True)["correct"]
        .agg(n="count", accuracy="mean")
        .reset_index()
        .rename(columns={"truth": "attribute"})
    )


# --------------------------------------------------------------------------- distinctness
#: Words that carry no description of a change.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "into",
        "onto",
        "over",
        "under",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "his",
        "her",
        "he",
        "she",
        "they",
        "them",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "gets",
        "get",
        "got",
        "becomes",
        "become",
        "becoming",
        "goes",
        "go",
        "some",
        "very",
        "much",
    }
)
#: Irregular forms the suffix rules cannot reach.
IRREGULAR = {
    "men": "man",
    "women": "woman",
    "teeth": "tooth",
    "feet": "foot",
    "children": "child",
    "leaves": "leaf",
    "darker": "dark",
    "bigger": "big",
    "thinner": "thin",
    "fatter": "fat",
    "wider": "wide",
    "larger": "large",
    "smaller": "small",
    "better": "good",
    "worse": "bad",
}
#: (suffix, replacement, minimum stem length) tried in order; the first that applies wins.
SUFFIX_RULES = (
    ("ies", "y", 3),
    ("sses", "ss", 2),
    ("es", "e", 3),
    ("s", "", 3),
    ("ing", "", 3),
    ("ied", "y", 3),
    ("ed", "", 3),
    ("iest", "y", 3),
    ("ier", "y", 3),
    ("est", "", 3),
    ("er", "", 3),
    ("ly", "", 3),
)
_NO_S_STRIP = ("ss", "us", "is")


def lemma(word: str) -> str:
    """A small rule-based lemmatiser: plural, -ing, -ed, comparative/superlative, -ly; then a final ``e``.

    Hand-written (instead of a stemmer library) to keep the study extra light; it only has to map
    the forms of one word to one key (``smiling``/``smiles``/``smile`` -> ``smil``), not to produce
    dictionary words.  Doubled final consonants are undone (``thinner`` -> ``thin``).
    """
    w = word.lower()
    if w in IRREGULAR:
        w = IRREGULAR[w]
    else:
        for suffix, repl, min_stem in SUFFIX_RULES:
            if w.endswith(suffix) and len(w) - len(suffix) >= min_stem:
                if suffix == "s" and w.endswith(_NO_S_STRIP):
                    continue
                w = w[: len(w) - len(suffix)] + repl
                if suffix in ("ing", "ed", "er", "est") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
                    w = w[:-1]
                break
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


def words(text: str) -> list[str]:
    """Content words of a description, lower-cased and lemmatised."""
    return [lemma(t) for t in re.findall(r"[a-zA-Z]+", str(text).lower()) if t not in STOPWORDS]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def distinctness(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Word overlap of verbal descriptions within vs between attributes.

    Returns (per group: within, between, difference, descriptions; per attribute: within overlap and the
    most common words).  ``within`` = mean Jaccard overlap of two participants' word sets for the same
    attribute; ``between`` = the same for descriptions of two different attributes of the group.  Distinct
    attributes have within >> between.
    """
    verbal = df[df["kind"] == "verbal"].copy()
    verbal["words"] = verbal["answer"].map(lambda t: frozenset(words(t)))
    group_rows, attr_rows = [], []
    for group, g in verbal.groupby("group", sort=True):
        by_attr = {a: list(zip(x["participant"], x["words"])) for a, x in g.groupby("attributes")}
        within_all = []
        for attr, descs in by_attr.items():
            pairs = [_jaccard(a, b) for (pa, a), (pb, b) in itertools.combinations(descs, 2) if pa != pb]
            within_all += pairs
            counts = Counter(w for _, ws in descs for w in ws)
            attr_rows.append(
                {
                    "group": group,
                    "attribute": attr,
                    "descriptions": len(descs),
                    "within_overlap": float(np.mean(pairs)) if pairs else float("nan"),
                    "common_words": ", ".join(f"{w} ({n})" for w, n in counts.most_common(3)),
                }
            )
        between = [
            _jaccard(a, b)
            for (x, dx), (y, dy) in itertools.combinations(by_attr.items(), 2)
            for (pa, a) in dx
            for (pb, b) in dy
            if pa != pb
        ]
        w_mean = float(np.mean(within_all)) if within_all else float("nan")
        b_mean = float(np.mean(between)) if between else float("nan")
        group_rows.append(
            {
                "group": group,
                "within": w_mean,
                "between": b_mean,
                "difference": w_mean - b_mean,
                "attributes": len(by_attr),
                "descriptions": len(g),
            }
        )
    return pd.DataFrame(group_rows), pd.DataFrame(attr_rows)


# --------------------------------------------------------------------------- machine observer
def gif_frames(path: str | Path, channels: int = 1, size: int | None = None):
    """All frames of a GIF as a float tensor (T, C, H, W) in [-1, 1], optionally resized to ``size``."""
    import torch
    from PIL import Image, ImageSequence

    from ..data import from_unit, resize

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as im:
        arrays = [np.asarray(frame.convert(mode), dtype=np.float32) / 255.0 for frame in ImageSequence.Iterator(im)]
    x = torch.from_numpy(np.stack(arrays))
    x = x[:, None] if channels == 1 else x.permute(0, 3, 1, 2)
    return resize(from_unit(x), size)


def animation_change(frames, features: Callable) -> np.ndarray:
    """The change an animation shows, in feature space: f(most changed frame) - f(first frame).

    The most changed frame is the one farthest (in pixels) from the first, so before/after GIFs and
    ping-pong animations are read the same way.
    """
    import torch

    with torch.no_grad():
        far = int(((frames - frames[:1]) ** 2).flatten(1).sum(1).argmax())
        f = features(frames[[0, far]])
    f = torch.as_tensor(f).flatten(1).double()
    return (f[1] - f[0]).cpu().numpy()


def pixel_features(images):
    """The simplest feature space: the pixels themselves."""
    return images.flatten(1)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def machine_observer(
    items: str | Path | Spec, features: Callable = pixel_features, channels: int = 1, size: int | None = None
) -> pd.DataFrame:
    """Answers of a machine observer to every classification question of a study (attention check included).

    For each question it picks the attribute of the example whose change (:func:`animation_change` in
    ``features``) is nearest by cosine to the change of the animation to classify.  ``features`` maps
    images (N, C, H, W) in [-1, 1] to (N, D), e.g. an independent classifier's penultimate layer;
    ``channels``/``size`` say how to read the GIFs for it.  Rows have ``observer = "machine"``.
    """
    spec = items if isinstance(items, Spec) else load_spec(items)
    changes: dict[str, np.ndarray] = {}

    def change(item_id: str) -> np.ndarray:
        if item_id not in changes:
            changes[item_id] = animation_change(gif_frames(spec.gif_path(item_id), channels, size), features)
        return changes[item_id]

    answers = []
    for position, q in enumerate(build_questions(spec)):
        if q.kind != "classification":
            continue
        target = change(q.query)
        scored = [(_cosine(target, change(i)), a) for a in q.attributes for i in q.examples[a]]
        answer = max(scored, key=lambda s: s[0])[1]  # ties: the first example shown, i.e. attribute x
        answers.append(
            {
                "participant": MACHINE_ID,
                "seed": "",
                "completed_at": "",
                "position": position,
                "question": q.id,
                "kind": q.kind,
                "group": q.group,
                "attention": int(q.attention),
                "attributes": ";".join(q.attributes),
                "truth": q.truth,
                "answer": answer,
                "correct": int(answer == q.truth),
                "elapsed_ms": "",
                "received_at": "",
            }
        )
    df = load_responses(pd.DataFrame(answers, columns=list(COLUMNS)))
    df["observer"] = MACHINE
    return df


def summarise(df: pd.DataFrame) -> dict[str, Any]:
    """Counts for a report: participants per observer, completed visits, failed attention checks."""
    humans = df[df["observer"] == HUMAN]
    completed = (
        humans.loc[humans["completed_at"].astype(str) != "", "participant"].nunique() if "completed_at" in humans else 0
    )
    return {
        "participants": int(humans["participant"].nunique()),
        "completed": int(completed),
        "failed_attention": len(attention_failures(humans)),
        "answers": len(humans),
    }
