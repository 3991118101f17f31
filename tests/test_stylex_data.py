"""The StylEx paper profile's user-file loaders (FFHQ perceived gender, PlantVillage health) on tiny fixtures in
the official layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genxai import data
from genxai.data import DataMissingError
from genxai.data.ffhq import load_ffhq_gender
from genxai.data.plant_village import health_of, load_plant_village

AGING_HEADER = (
    "image_number,age_group,age_group_confidence,gender,gender_confidence,head_pitch,head_roll,head_yaw,"
    "left_eye_occluded,right_eye_occluded,glasses"
)


def _image(path, value, size=20):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path)


@pytest.fixture
def ffhq(tmp_path):
    """Official tree images1024x1024/<thousands>/<number>.png (here under images/), FFHQ-Aging labels."""
    root = tmp_path / "ffhq"
    rows = [(0, "female", 0.99), (1, "male", 0.97), (2, "male", 0.55), (60000, "female", 0.9), (60001, "male", 1.0)]
    for number, gender, _ in rows:
        _image(root / "images" / f"{number // 1000 * 1000:05d}" / f"{number:05d}.png", 40 * (gender == "male") + 10)
    lines = [AGING_HEADER] + [f"{n},20-29,0.9,{g},{c},0.1,0.2,0.3,10,12,None" for n, g, c in rows]
    (root / "ffhq_aging_labels.csv").write_text("\n".join(lines) + "\n")
    return root


def test_ffhq_aging_labels_give_ffhqs_own_split(ffhq):
    train = load_ffhq_gender("train", root=ffhq, size=8)
    test = load_ffhq_gender("test", root=ffhq, size=8)
    assert train.images.shape == (3, 3, 8, 8) and train.images.dtype == torch.float32
    assert train.labels.tolist() == [0, 1, 1] and test.labels.tolist() == [0, 1]
    assert train.classes == ("female", "male")
    assert train.extra["image_number"].tolist() == [0, 1, 2] and test.extra["image_number"].tolist() == [60000, 60001]
    # the male images were written brighter: pixels follow their labels, in [-1, 1]
    assert train.images[1].mean() > train.images[0].mean() and train.images.min() >= -1
    confident = load_ffhq_gender("train", root=ffhq, size=8, min_confidence=0.9)
    assert confident.extra["image_number"].tolist() == [0, 1]


def test_ffhq_is_registered_and_resized_by_load(ffhq):
    ds = data.load("ffhq_gender", "test", size=4, root=ffhq)
    assert ds.images.shape == (2, 3, 4, 4) and ds.name == "ffhq_gender"


def test_ffhq_celeba_style_attribute_list(ffhq):
    (ffhq / "ffhq_aging_labels.csv").unlink()
    lines = ["3", "Bald Male Smiling", "00000.png -1 -1  1", "00001.png -1  1 -1", "60001.png  1  1 -1"]
    (ffhq / "list_attr_ffhq.txt").write_text("\n".join(lines) + "\n")
    train = load_ffhq_gender("train", root=ffhq, size=8)
    assert train.labels.tolist() == [0, 1]
    assert load_ffhq_gender("test", root=ffhq, size=8).labels.tolist() == [1]
    (ffhq / "list_attr_ffhq.txt").write_text("1\nBald Smiling\n00000.png -1 1\n")
    with pytest.raises(ValueError, match="no 'Male' column"):
        load_ffhq_gender("train", root=ffhq)


def test_ffhq_errors_name_the_missing_files_and_the_fix(ffhq, tmp_path):
    with pytest.raises(DataMissingError, match="does not exist.*ffhq_aging_labels.csv"):
        load_ffhq_gender("train", root=tmp_path / "nowhere")
    (ffhq / "images" / "00000" / "00001.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 images listed in .*ffhq_aging_labels.csv.*\['00001'\]"):
        load_ffhq_gender("train", root=ffhq)
    (ffhq / "ffhq_aging_labels.csv").write_text(AGING_HEADER + "\n7,20-29,0.9,robot,0.9,0,0,0,0,0,None\n")
    with pytest.raises(ValueError, match="gender must be 'male' or 'female'"):
        load_ffhq_gender("train", root=ffhq)
    (ffhq / "ffhq_aging_labels.csv").unlink()
    with pytest.raises(DataMissingError, match="no FFHQ gender labels.*list_attr"):
        load_ffhq_gender("train", root=ffhq)


@pytest.fixture
def plants(tmp_path):
    """The Mendeley layout: <Crop>___<condition>/ folders (JPG) and the background folder."""
    root = tmp_path / "plant_village"
    for folder, n, value in (
        ("Apple___healthy", 6, 200),
        ("Apple___Apple_scab", 5, 60),
        ("Tomato___Late_blight", 5, 70),
        ("Background_without_leaves", 4, 0),
    ):
        for i in range(n):
            _image(root / folder / f"image ({i}).JPG", value)
    return root


def test_plant_village_health_labels_and_a_seeded_disjoint_split(plants):
    train = load_plant_village("train", root=plants, size=8)
    test = load_plant_village("test", root=plants, size=8)
    assert len(train) + len(test) == 16, "the background folder is left out"
    assert len(test) == 2 and train.classes == ("healthy", "sick")
    assert int((train.labels == 0).sum() + (test.labels == 0).sum()) == 6
    # healthy leaves were written brightest: labels follow the folders
    bright = torch.cat([train.images, test.images]).mean((1, 2, 3)) > 0.3
    assert torch.equal(bright, torch.cat([train.labels, test.labels]) == 0)
    again = load_plant_village("test", root=plants, size=8)
    assert torch.equal(again.images, test.images), "the split is fixed"


def test_plant_village_prepared_folders_and_errors(plants, tmp_path):
    names = ("Apple___healthy", "Corn___Common_rust", "Background_without_leaves")
    assert [health_of(n) for n in names] == [0, 1, None]
    prepared = tmp_path / "prepared"
    for folder, value in (("healthy", 200), ("sick", 50)):
        for i in range(5):
            _image(prepared / folder / f"{i}.png", value)
    ds = data.load("plant_village", "train", root=prepared, size=4)
    assert ds.images.shape[1:] == (3, 4, 4) and set(ds.labels.tolist()) == {0, 1}
    with pytest.raises(DataMissingError, match="does not exist.*Apple___healthy"):
        load_plant_village(root=tmp_path / "nowhere")
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    with pytest.raises(DataMissingError, match=r"no PlantVillage class folders with images.*\['notes'\]"):
        load_plant_village(root=empty)
    for p in (plants / "Apple___healthy").iterdir():
        p.unlink()
    with pytest.raises(ValueError, match="only sick leaves"):
        load_plant_village(root=plants)
