"""Helpers of the StylEx notebooks: the cached models, the test sample, AttFind and the measurements as tables,
and where the user study finds its animations.

Study items (read by ``notebooks/stylex/03_user_study.ipynb``): notebook 01 writes the GIFs and ``items.json``
into its run's ``study_items/`` folder; ``genxai reproduce`` promotes them to :func:`study_items_dir` (cpu profile:
``results/stylex/study_items/``), beside :func:`attributes_path` (the attributes AttFind found).  The StylEx model
itself comes from the model cache (:func:`trained_stylex`): the same profile, seed, code and thread count give the
same model, trained once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from .. import paths
from ..data import balanced_indices, resize
from ..data.base import ImageSet
from ..models import get_or_train
from ..models.cache import CachedModel
from . import attfind as af
from .export import attribute_animations, export_study
from .model import StylEx, StylExConfig, config_from_profile

WORK = "stylex"
#: The subfolder of a run's outputs (and of ``results/stylex/``) that holds the study's GIFs and ``items.json``.
STUDY_ITEMS = "study_items"
#: The attributes AttFind found (JSON, written by notebook 01 beside the study items).
ATTRIBUTES = "stylex_attributes.json"
#: The study items' group: one data set / model (one row of the study's Table 2).
GROUP = "fashion"
_RUN_01 = "genxai reproduce --paper stylex --notebook 01 --profile {profile}"


def stylex_config(profile: str, seed: int = 0) -> StylExConfig:
    """The Fashion-MNIST (sneaker vs ankle boot) StylEx of ``profile`` (lib/genxai/profiles/stylex.json)."""
    return config_from_profile(profile, seed=seed)


def trained_stylex(
    profile: str, seed: int = 0, device: str | torch.device = "cpu", progress: bool = True
) -> CachedModel:
    """The cached StylEx of :func:`stylex_config` (trained on first use, with its classifier); ``.model`` is the
    :class:`~genxai.stylex.model.StylEx` in eval mode."""
    cached = get_or_train(stylex_config(profile, seed), device=device, progress=progress)
    cached.model.eval()
    return cached


def study_items_dir(profile: str) -> Path:
    """Where the study's StylEx animations live after notebook 01 ran in ``profile``: ``items.json`` +
    ``gifs/`` (format :data:`genxai.study.items.FORMAT`).  Not created here."""
    return paths.results_dir(WORK, profile, create=False) / STUDY_ITEMS


def attributes_path(profile: str) -> Path:
    """The JSON of the attributes AttFind found in notebook 01 (see :func:`attributes_record`)."""
    return paths.results_dir(WORK, profile, create=False) / ATTRIBUTES


def require_study_items(profile: str) -> Path:
    """:func:`study_items_dir`, or ``FileNotFoundError`` naming the command that writes it."""
    folder = study_items_dir(profile)
    if not (folder / "items.json").exists():
        raise FileNotFoundError(
            f"no StylEx study items in {folder}: run notebook 01 first (`{_RUN_01.format(profile=profile)}`)"
        )
    return folder


def load_attributes(profile: str) -> dict[str, Any]:
    """The attributes of notebook 01 (``toward`` with int class keys and (d, i) tuples), or ``FileNotFoundError``
    naming the command that writes them."""
    path = attributes_path(profile)
    if not path.exists():
        raise FileNotFoundError(
            f"no StylEx attributes at {path}: run notebook 01 first (`{_RUN_01.format(profile=profile)}`)"
        )
    record = json.loads(path.read_text())
    record["toward"] = {int(c): [tuple(p) for p in pairs] for c, pairs in record["toward"].items()}
    record["merged"] = [tuple(p) for p in record["merged"]]
    return record


def balanced_test(config: StylExConfig, n_per_class: int, seed: int = 0) -> tuple[ImageSet, torch.Tensor]:
    """A class-balanced seeded sample of the pair's test split (round-robin c0, c1, ...) and its indices.

    Sorted splits put one class first, so the first n images would be one class only."""
    test = config.data("test")
    n = min(n_per_class, *(int((test.labels == c).sum()) for c in (0, 1)))
    idx = balanced_indices(test.labels, n, seed=seed, classes=(0, 1))
    return test.take(idx), idx


class JudgeAt(nn.Module):
    """An independent judge (trained at its own size on all ten Fashion-MNIST classes) seen as a binary
    classifier of the pair: images are resized to the judge's size; ``forward`` gives the logits of the pair's
    two classes, ``features`` the judge's embedding (for Fréchet distances)."""

    def __init__(self, judge: nn.Module, classes: Sequence[int], img_size: int):
        super().__init__()
        self.judge = judge.eval()
        self.classes = list(classes)
        self.in_channels = judge.in_channels
        self.img_size = img_size  # what callers feed (ClassifierFeatures probes with it)

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        return resize(x, self.judge.img_size)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge.features(self._view(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge(self._view(x))[:, self.classes]


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Logits of ``model`` on ``x`` (on the model's device), on the CPU."""
    device = next(model.parameters()).device
    return torch.cat([model(x[i : i + batch].to(device)).cpu() for i in range(0, len(x), batch)])


@torch.no_grad()
def reconstructions(model: StylEx, x: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """G_ema([E(x), c(x)]) without per-pixel noise, on the CPU (not clipped: the measurements classify what G
    makes, as :func:`genxai.stylex.model.decision_kept` and :func:`genxai.stylex.attfind.sufficiency` do)."""
    device = next(model.parameters()).device
    parts = [model.reconstruct(x[i : i + batch].to(device)).cpu() for i in range(0, len(x), batch)]
    return torch.cat(parts)


def reconstruction_table(
    model: StylEx, x: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], judge: nn.Module | None = None
) -> tuple[pd.DataFrame, torch.Tensor]:
    """Per true class and overall: the share of reconstructions whose classifier decision equals the original's
    (``decision_kept``, the target), the classifier's accuracy on the originals, the mean L1 distance and, with a
    ``judge`` (binary logits), the share the judge decides like on the original.  Returns (table, reconstructions)."""
    rec = reconstructions(model, x)
    pred_x, pred_r = predict(model.C, x).argmax(1), predict(model.C, rec).argmax(1)
    kept = pred_x == pred_r
    l1 = (rec - x.cpu()).abs().flatten(1).mean(1)
    judge_kept = predict(judge, x).argmax(1) == predict(judge, rec).argmax(1) if judge is not None else None
    rows = []
    for name, mask in [*((class_names[c], labels == c) for c in (0, 1)), ("all", torch.ones_like(kept))]:
        row = {
            "class": name,
            "n": int(mask.sum()),
            "classifier_acc": float((pred_x[mask] == labels[mask]).float().mean()),
            "decision_kept": float(kept[mask].float().mean()),
            "mean_l1": float(l1[mask].mean()),
        }
        if judge_kept is not None:
            row["judge_decision_kept"] = float(judge_kept[mask].float().mean())
        rows.append(row)
    return pd.DataFrame(rows), rec


@dataclass
class AttFindResult:
    codes: af.StyleCodes
    effect: torch.Tensor  # (N, 2, S, 2) logit changes of single-coordinate shifts
    toward: dict[int, list[tuple[int, int]]]  # class c -> (direction, coordinate) pairs raising logit c, best first
    merged: list[tuple[int, int]]  # the merged ranking (directions move class 1 -> 0)
    seconds: float  # wall time of the effect computation (step 3)


def find_attributes(
    model: StylEx,
    x: torch.Tensor,
    num_indices: int = 10,
    variant: str = "official",
    effect_threshold: float = 0.5,
    extraction_shift: float = 1.0,
    seed: int = 0,
    batch: int = 512,
) -> AttFindResult:
    """AttFind (Lang et al. 2021, Alg. 1) on images ``x``: style codes, the batched effects of every coordinate in
    both directions (``extraction_shift``: the official notebook's ``s_shift_size = 1``), the top ``num_indices``
    attributes per class in ``variant`` and the merged ranking."""
    device = next(model.parameters()).device
    codes = af.style_codes(model, x.to(device), seed=seed)
    started = time.perf_counter()
    effect = af.style_effects(model, codes, shift_size=extraction_shift, batch=batch)
    seconds = time.perf_counter() - started
    toward = af.attfind(effect, codes.predicted.cpu(), num_indices, variant, effect_threshold)
    return AttFindResult(codes, effect, toward, af.merge_attributes(effect, toward), seconds)


def attributes_record(
    result: AttFindResult, class_names: Sequence[str], image_indices: torch.Tensor, shift_size: float, variant: str
) -> dict[str, Any]:
    """What :func:`load_attributes` reads back: the attributes per class, the merged ranking, the shift used for
    the figures and the study, the class names and the test-split indices of the AttFind images."""
    return {
        "toward": {str(c): [list(p) for p in pairs] for c, pairs in result.toward.items()},
        "merged": [list(p) for p in result.merged],
        "shift_size": float(shift_size),
        "variant": variant,
        "class_names": list(class_names),
        "image_indices": [int(i) for i in image_indices],
        "attribute_id": "d<direction>_s<coordinate>: direction 0 moves the coordinate to its minimum, 1 to its maximum",
    }


@torch.no_grad()
def sufficiency_table(
    model: StylEx,
    codes: af.StyleCodes,
    toward: dict[int, list[tuple[int, int]]],
    class_names: Sequence[str],
    ks: Sequence[int] = range(1, 11),
    shift_sizes: Sequence[float] = (1.0, 2.0),
    judge: nn.Module | None = None,
) -> pd.DataFrame:
    """The reproduction's Table 1 (``flip_signs``) for every shift size and k: the share of images whose classifier
    decision flips when their top-k attributes towards the other class are shifted together, overall and per
    predicted class; with a ``judge`` (binary logits) also the share of the classifier-flipped images that the
    judge, too, assigns to the other class (a flip our classifier alone sees is no evidence of a visible change)."""
    pred = codes.predicted.cpu()
    judge_base = None if judge is None else predict(judge, af.images_of(model, codes, codes.flat)).argmax(1)
    rows = []
    for s in shift_sizes:
        for k in ks:
            images = af.images_of(model, codes, af.shift_toward(codes, toward, k, s))
            flipped = predict(model.C, images).argmax(1) != pred
            row = {"shift": float(s), "k": int(k), "all": float(flipped.float().mean())}
            for c in (0, 1):
                mask = pred == c
                row[class_names[c]] = float(flipped[mask].float().mean()) if mask.any() else float("nan")
            if judge is not None:
                judged = predict(judge, images).argmax(1)
                agree = judged[flipped] == 1 - pred[flipped]
                row["judge_agrees_on_flips"] = float(agree.float().mean()) if flipped.any() else float("nan")
                row["judge_flip_vs_own_base"] = float((judged != judge_base).float().mean())
            rows.append(row)
    return pd.DataFrame(rows)


def fid_table(
    model: StylEx,
    codes: af.StyleCodes,
    originals: torch.Tensor,
    toward: dict[int, list[tuple[int, int]]],
    judge: nn.Module,
    ks: Sequence[int] = range(1, 11),
    shift_sizes: Sequence[float] = (1.0, 2.0),
) -> pd.DataFrame:
    """Fréchet distance in the judge's features between the originals and the reconstructions (k = 0) and the
    counterfactuals with the top-1..k attributes shifted, per shift size (the reproduction's own experiment)."""
    rows = []
    for s in shift_sizes:
        out = af.fid_under_perturbation(model, codes, originals.cpu(), toward, judge, ks, s)
        rows += [{"shift": float(s), "k": k, "fid": f} for k, f in zip(out["k"], out["fid"])]
    return pd.DataFrame(rows)


def figure_images(predicted: torch.Tensor, per_class: int) -> list[int]:
    """Indices of the first ``per_class`` images predicted as each class, alternating classes."""
    by_class = [torch.nonzero(predicted.cpu() == c).flatten().tolist()[:per_class] for c in (0, 1)]
    return [i for pair in zip(*by_class) for i in pair]


def export_study_items(
    model: StylEx,
    codes: af.StyleCodes,
    toward: dict[int, list[tuple[int, int]]],
    out_dir: str | Path,
    class_names: Sequence[str],
    n_attributes: int = 3,
    n_images: int = 4,
    shift_size: float = 1.0,
    seed: int = 0,
    group: str = GROUP,
    steps: int = 6,
    scale: int = 6,
) -> Path:
    """The study's items: for each class c, its top ``n_attributes`` attributes, each animated on ``n_images``
    images predicted as the other class (the images the attribute should move towards c); one GIF per
    (attribute, image) and ``items.json`` (attribute id ``d<d>_s<i>``, image id, predicted class, shift).
    An attribute found for both classes is animated once.  Returns the spec's path."""
    pred = codes.predicted.cpu()
    animations, used = [], set()
    for c in sorted(toward):
        images = torch.nonzero(pred != c).flatten().tolist()[:n_images]
        if len(images) < n_images:
            raise ValueError(
                f"only {len(images)} AttFind images are predicted as another class than {class_names[c]}; "
                f"need n_images={n_images}: use more AttFind images or fewer study images"
            )
        attrs = [p for p in toward[c] if p[1] not in used][:n_attributes]
        used |= {i for _, i in attrs}
        animations += attribute_animations(
            model, codes, attrs, images, shift_size=shift_size, steps=steps, class_names=class_names, group=group
        )
    return export_study(out_dir, animations, seed=seed, scale=scale)


def attfind_speed(model: StylEx, codes: af.StyleCodes, n_images: int, n_coords: int, shift_size: float = 1.0):
    """Seconds of the batched effects and of the one-at-a-time loop on the first ``n_images`` images and
    ``n_coords`` coordinates, and the largest difference between their outputs."""
    sub = af.StyleCodes(
        [s[:n_images] for s in codes.styles],
        codes.flat[:n_images],
        codes.logits[:n_images],
        codes.noise,
        codes.s_min,
        codes.s_max,
    )
    coords = torch.arange(min(n_coords, len(codes.s_min)))
    t0 = time.perf_counter()
    batched = af.style_effects(model, sub, shift_size, coords=coords)
    t1 = time.perf_counter()
    loop = af.style_effects_loop(model, sub, shift_size, coords=coords)
    t2 = time.perf_counter()
    return {
        "images": n_images,
        "coords": len(coords),
        "batched_s": t1 - t0,
        "loop_s": t2 - t1,
        "speedup": (t2 - t1) / max(t1 - t0, 1e-9),
        "max_abs_diff": float((batched - loop).abs().max()),
    }


@torch.no_grad()
def attribute_images(
    model: StylEx, codes: af.StyleCodes, cls: int, attribute: tuple[int, int], shift_size: float
) -> torch.Tensor:
    """Every AttFind image with only ``attribute`` (an attribute towards class ``cls``) shifted; the images predicted
    as ``cls`` stay reconstructions (the attribute moves the other class's images towards ``cls``)."""
    flat = af.shift_toward(codes, {cls: [attribute], 1 - cls: []}, 1, shift_size)
    return af.images_of(model, codes, flat).clamp(-1, 1)


def attribute_table(model: StylEx, result: AttFindResult, class_names: Sequence[str], n_per_class: int) -> pd.DataFrame:
    """The top ``n_per_class`` attributes of each class: rank, class, direction, coordinate, its layer and channel,
    and the mean change of the class's logit over the other class's images (the ranking's own score)."""
    pred = result.codes.predicted.cpu()
    rows = []
    for c, pairs in sorted(result.toward.items()):
        others = pred != c
        for rank, (d, i) in enumerate(pairs[:n_per_class], 1):
            layer, channel = model.G_ema.coord_to_layer(i)
            rows.append(
                {
                    "towards": class_names[c],
                    "rank": rank,
                    "attribute": f"d{d}_s{i}",
                    "direction": "to min" if d == 0 else "to max",
                    "layer": layer,
                    "channel": channel,
                    "mean_logit_change": float(result.effect[others, d, i, c].mean()),
                }
            )
    return pd.DataFrame(rows)


@torch.no_grad()
def reconstructed(model: StylEx, codes: af.StyleCodes) -> torch.Tensor:
    """G(s) of the AttFind images with their own style codes and the fixed noise (the images AttFind shifts)."""
    return af.images_of(model, codes, codes.flat).clamp(-1, 1)
