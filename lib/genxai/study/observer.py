"""The machine observer beyond one run of the questions: judge features, many question draws, distinctness.

:func:`genxai.study.analysis.machine_observer` answers the classification questions of one study (its spec's seed
fixes which examples and which animation each question shows).  With six questions its accuracy moves in steps of
1/6, so :func:`question_draws` repeats it over many draws of the questions (the spec's seed varied) for a steadier
automatic coherence score.  :func:`machine_distinctness` is the machine counterpart of the verbal study: how similar
the changes of two animations of the same attribute are (cosine in the judge's features) against two animations of
different attributes.  Every table here says ``observer = machine``: none of it is a human result.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .analysis import MACHINE_LABEL, animation_change, gif_frames, machine_observer
from .items import Spec, load_spec


def judge_features(judge: torch.nn.Module, img_size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``images -> judge.features(images resized to img_size)`` without gradients, on the judge's device."""
    from ..data import resize

    device = next(judge.parameters()).device

    def features(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return judge.features(resize(images, img_size).to(device)).cpu()

    return features


def _spec(items: str | Path | Spec) -> Spec:
    return items if isinstance(items, Spec) else load_spec(items)


def question_draws(
    items: str | Path | Spec,
    features: Callable,
    n_draws: int = 20,
    seed: int = 0,
    channels: int = 1,
    size: int | None = None,
) -> pd.DataFrame:
    """The machine observer's answers to ``n_draws`` draws of the classification questions: draw k builds the
    questions with seed ``seed + k`` instead of the spec's own.  The answers of
    :func:`~genxai.study.analysis.machine_observer` with a ``draw`` column (``participant`` names the draw, so
    :func:`~genxai.study.analysis.per_attribute_accuracy` pools them)."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    spec = _spec(items)
    parts = []
    for k in range(n_draws):
        answers = machine_observer(dataclasses.replace(spec, seed=seed + k), features, channels, size)
        answers["draw"] = k
        answers["participant"] = f"{answers['participant'].iloc[0]}-draw{k}"
        parts.append(answers)
    return pd.concat(parts, ignore_index=True)


def draws_summary(answers: pd.DataFrame) -> pd.DataFrame:
    """Per group: mean and SD over the draws of the accuracy of each draw (attention checks left out), labelled
    as the machine observer."""
    scored = answers[~answers["attention"]]
    per_draw = scored.groupby(["group", "draw"], sort=True)["correct"].mean().rename("accuracy").reset_index()
    out = (
        per_draw.groupby("group", sort=True)["accuracy"]
        .agg(accuracy="mean", sd=lambda a: float(np.std(a, ddof=0)), draws="count")
        .reset_index()
    )
    out.insert(1, "source", f"{MACHINE_LABEL}, {int(out['draws'].max())} draws of the questions")
    out["questions per draw"] = [int((scored[(scored["group"] == g)]["draw"] == 0).sum()) for g in out["group"]]
    return out


def machine_distinctness(
    items: str | Path | Spec, features: Callable, channels: int = 1, size: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cosine similarity of the animations' changes (in ``features``) within an attribute vs between attributes.

    Returns (per group: within, between, difference, attributes, animations; per attribute: within).  Distinct
    and coherent attributes have within >> between: the counterpart, by machine, of the verbal study's word overlap
    (:func:`genxai.study.analysis.distinctness`)."""
    spec = _spec(items)
    change = {i: animation_change(gif_frames(spec.gif_path(i), channels, size), features) for i in sorted(spec.items)}

    def cos(a: str, b: str) -> float:
        na, nb = np.linalg.norm(change[a]), np.linalg.norm(change[b])
        return float(change[a] @ change[b] / (na * nb)) if na > 0 and nb > 0 else 0.0

    group_rows, attr_rows = [], []
    for group, attrs in spec.attributes.items():
        ids = {a: [it.id for it in spec.items_of(a)] for a in attrs}
        within_all = []
        for a in attrs:
            pairs = [cos(x, y) for x, y in itertools.combinations(ids[a], 2)]
            within_all += pairs
            attr_rows.append(
                {"group": group, "attribute": a, "animations": len(ids[a]), "within": float(np.mean(pairs))}
            )
        between = [cos(x, y) for a, b in itertools.combinations(attrs, 2) for x in ids[a] for y in ids[b]]
        w, b = float(np.mean(within_all)), float(np.mean(between))
        group_rows.append(
            {
                "group": group,
                "source": MACHINE_LABEL,
                "within": w,
                "between": b,
                "difference": w - b,
                "attributes": len(attrs),
                "animations": sum(len(v) for v in ids.values()),
            }
        )
    return pd.DataFrame(group_rows), pd.DataFrame(attr_rows)
