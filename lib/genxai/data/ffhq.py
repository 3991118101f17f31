"""FFHQ (Karras et al. 2019) faces with perceived-gender labels: the StylEx ``paper`` profile's data, from user files.

FFHQ and its labels need a manual download (no download here).  Put them under ``data/raw/ffhq/`` (or pass
``root``):

* ``images/``: the FFHQ images named by their five-digit number, at any depth (the official
  ``images1024x1024/00000/00000.png`` tree, or Kaggle's flat "FFHQ resized 256px" folder, as the reproduction used);
* one label file, either

  - ``ffhq_aging_labels.csv`` of FFHQ-Aging (Or-El et al. 2020; the reproduction's source): a CSV with the
    columns ``image_number, age_group, age_group_confidence, gender, gender_confidence, ...``, gender
    ``male`` / ``female``; or
  - a CelebA-style attribute list ``list_attr_*.txt`` (CelebA's ``list_attr_celeba.txt`` layout: the number of
    images, a line of attribute names, then ``<file> <1 or -1 per attribute>``) with a ``Male`` column, e.g. the
    output of a CelebA-trained attribute classifier on FFHQ.

Classes: 0 ``female``, 1 ``male`` (CelebA's ``Male`` = 1).  Split: FFHQ's own, images 0-59,999 ``train`` and
60,000-69,999 ``test`` (FFHQ's "validation").  Images are read at ``size`` px (64 as the reproduction).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from .. import paths
from . import register
from .base import DataMissingError, ImageSet, from_uint8

CLASSES = ("female", "male")
AGING_LABELS = "ffhq_aging_labels.csv"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: FFHQ's training images are 0..59,999; 60,000..69,999 are its validation images (our ``test``).
FIRST_TEST_IMAGE = 60000


def ffhq_dir() -> Path:
    return paths.raw_dir("ffhq")


def _how_to(root: Path) -> str:
    return (
        f"put the FFHQ images under {root / 'images'} (files named 00000.png ...) and a label file beside them: "
        f"{AGING_LABELS} from the FFHQ-Aging dataset (github.com/royorel/FFHQ-Aging-Dataset) or a CelebA-style "
        f"list_attr_*.txt with a Male column; or pass root= to the loader"
    )


def read_aging_labels(path: Path, min_confidence: float = 0.0) -> dict[int, int]:
    """{image number: 0 female / 1 male} from FFHQ-Aging's CSV, keeping rows with gender_confidence >= the minimum."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        need = {"image_number", "gender", "gender_confidence"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected FFHQ-Aging columns {sorted(need)}, found {reader.fieldnames}")
        out = {}
        for line_no, row in enumerate(reader, 2):
            gender = row["gender"].strip().lower()
            if gender not in CLASSES:
                raise ValueError(f"{path}:{line_no}: gender must be 'male' or 'female', got {row['gender']!r}")
            if float(row["gender_confidence"]) >= min_confidence:
                out[int(row["image_number"])] = CLASSES.index(gender)
    return out


def read_celeba_attributes(path: Path, attribute: str = "Male") -> dict[str, int]:
    """{file stem: 0 / 1} from a CelebA-style attribute list (``attribute`` column: 1 -> 1, -1 -> 0)."""
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 2:
        raise ValueError(f"{path}: a CelebA-style list needs a count line and an attribute-name line")
    names = lines[1].split()
    if attribute not in names:
        raise ValueError(f"{path}: no {attribute!r} column among the attributes {names[:8]}...")
    col = names.index(attribute)
    out = {}
    for line_no, line in enumerate(lines[2:], 3):
        parts = line.split()
        if len(parts) != len(names) + 1:
            raise ValueError(f"{path}:{line_no}: expected a file name and {len(names)} values, got {len(parts)} fields")
        value = parts[col + 1]
        if value not in ("1", "-1"):
            raise ValueError(f"{path}:{line_no}: attribute values are 1 or -1, got {value!r}")
        out[Path(parts[0]).stem] = int(value == "1")
    return out


def _labels(root: Path, min_confidence: float) -> tuple[dict[str, int], str]:
    aging = root / AGING_LABELS
    if aging.exists():
        return {f"{k:05d}": v for k, v in read_aging_labels(aging, min_confidence).items()}, aging.name
    lists = sorted(root.glob("list_attr_*.txt"))
    if len(lists) > 1:
        raise ValueError(f"several CelebA-style label files in {root}: {[p.name for p in lists]}; keep one")
    if lists:
        return read_celeba_attributes(lists[0]), lists[0].name
    raise DataMissingError(f"no FFHQ gender labels in {root}: {_how_to(root)}")


def _is_test(stem: str) -> bool:
    return stem.isdigit() and int(stem) >= FIRST_TEST_IMAGE


def read_images(files: list[Path], size: int) -> torch.Tensor:
    """RGB images resized to ``size`` x ``size`` (antialiased), as float32 NCHW in [-1, 1]."""
    from PIL import Image

    arr = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, p in enumerate(files):
        with Image.open(p) as im:
            arr[i] = np.asarray(im.convert("RGB").resize((size, size), Image.LANCZOS))
    return from_uint8(arr.transpose(0, 3, 1, 2))


def load_ffhq_gender(
    split: str = "train", root: str | Path | None = None, size: int = 64, min_confidence: float = 0.0
) -> ImageSet:
    """FFHQ faces of ``split`` with perceived-gender labels (see the module docstring for the files)."""
    root = Path(root) if root else ffhq_dir()
    if not root.is_dir():
        raise DataMissingError(f"FFHQ folder {root} does not exist: {_how_to(root)}")
    labels, label_file = _labels(root, min_confidence)
    image_dir = root / "images"
    if not image_dir.is_dir():
        raise DataMissingError(f"no images/ folder in {root}: {_how_to(root)}")
    found = {p.stem: p for p in image_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES}
    stems = sorted(s for s in labels if _is_test(s) == (split == "test"))
    missing = [s for s in stems if s not in found]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} images listed in {root / label_file} are not under {image_dir} (e.g. {missing[:3]}): "
            f"unpack all of FFHQ there, or use a label file that lists only the images you have"
        )
    if not stems:
        raise ValueError(f"{root / label_file} lists no {split} images (FFHQ's test images are numbers >= 60000)")
    images = read_images([found[s] for s in stems], size)
    y = torch.tensor([labels[s] for s in stems], dtype=torch.long)
    source = f"FFHQ images in {image_dir}, perceived gender from {label_file}"
    numbers = torch.tensor([int(s) if s.isdigit() else -1 for s in stems])  # -1: a file not named by its number
    return ImageSet(images, y, CLASSES, "ffhq_gender", split, source, {"image_number": numbers})


@register("ffhq_gender")
def _ffhq_gender(split: str, **kwargs) -> ImageSet:
    return load_ffhq_gender(split, **kwargs)
