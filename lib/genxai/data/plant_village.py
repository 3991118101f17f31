"""PlantVillage (Hughes & Salathé 2015) leaves, healthy vs sick: the StylEx ``paper`` profile's second data set,
from user files.

Download PlantVillage yourself (no download here) and unpack it under ``data/raw/plant_village/`` (or pass
``root``) in one of two layouts:

* the Mendeley release "Plant_leave_diseases_dataset_without_augmentation" (doi:10.17632/tywbtsjrjv.1, the
  reproduction's source) or the ``raw/color`` folder of spMohanty/PlantVillage-Dataset: one folder per
  crop and condition, ``<Crop>___<condition>/`` (``Apple___healthy``, ``Apple___Apple_scab``, ...); a folder whose
  condition is ``healthy`` is healthy, every other one sick, and ``Background_without_leaves`` is left out;
* the reproduction's prepared folders ``healthy/`` and ``sick/``.

Classes: 0 ``healthy``, 1 ``sick``.  PlantVillage ships no split: ``test`` is a seeded 10 % of the images (the
reproduction's test share of its 70/20/10 split, seed 42), the rest ``train``.  Images are read at ``size`` px.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .. import paths
from . import register
from .base import DataMissingError, ImageSet, seeded_split
from .ffhq import IMAGE_SUFFIXES, read_images

CLASSES = ("healthy", "sick")
BACKGROUND = "Background_without_leaves"
TEST_SHARE = 0.1
SPLIT_SEED = 42


def plant_village_dir() -> Path:
    return paths.raw_dir("plant_village")


def _how_to(root: Path) -> str:
    return (
        f"unzip PlantVillage (Mendeley doi:10.17632/tywbtsjrjv.1, 'Plant_leave_diseases_dataset_without_"
        f"augmentation') so that its <Crop>___<condition> folders (Apple___healthy, ...) lie directly in {root}, or "
        f"put healthy/ and sick/ folders there; or pass root= to the loader"
    )


def health_of(folder: str) -> int | None:
    """0 healthy / 1 sick for a class folder name; None for folders that are not leaves."""
    if folder == BACKGROUND:
        return None
    if folder in CLASSES:
        return CLASSES.index(folder)
    crop, sep, condition = folder.partition("___")
    if not sep:
        return None
    return 0 if condition.lower() == "healthy" else 1


def list_images(root: Path) -> tuple[list[Path], list[int]]:
    """Every image file of the class folders of ``root`` (sorted) with its health label."""
    if not root.is_dir():
        raise DataMissingError(f"PlantVillage folder {root} does not exist: {_how_to(root)}")
    files, labels = [], []
    folders = sorted(d for d in root.iterdir() if d.is_dir())
    for d in folders:
        label = health_of(d.name)
        if label is None:
            continue
        found = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [label] * len(found)
    present = set(labels)
    if not files:
        names = [d.name for d in folders[:5]]
        raise DataMissingError(f"no PlantVillage class folders with images in {root} (found {names}): {_how_to(root)}")
    if present != {0, 1}:
        have = CLASSES[present.pop()]
        raise ValueError(f"PlantVillage in {root} has only {have} leaves: both healthy and sick folders are needed")
    return files, labels


def load_plant_village(split: str = "train", root: str | Path | None = None, size: int = 64) -> ImageSet:
    """PlantVillage leaves of ``split``, labelled healthy / sick (see the module docstring for the layouts)."""
    root = Path(root) if root else plant_village_dir()
    files, labels = list_images(root)
    train_idx, test_idx = seeded_split(len(files), max(1, round(TEST_SHARE * len(files))), seed=SPLIT_SEED)
    idx = (test_idx if split == "test" else train_idx).tolist()
    images = read_images([files[i] for i in idx], size)
    y = torch.tensor([labels[i] for i in idx], dtype=torch.long)
    return ImageSet(images, y, CLASSES, "plant_village", split, f"PlantVillage class folders in {root}")


@register("plant_village")
def _plant_village(split: str, **kwargs) -> ImageSet:
    return load_plant_village(split, **kwargs)
