"""The objective train detector (genxai.trains.detector): its renders, its heads and its distribution measures."""

import numpy as np
import pytest
import torch

from genxai.data import trains as R
from genxai.models import get_or_train
from genxai.trains import detector as det


@pytest.mark.parametrize("size", [32, 64])
def test_render_scene_with_everything_is_the_renderer_byte_for_byte(size):
    for i in range(6):
        t = R.sample_train(np.random.default_rng(i))
        expected = R.render(t, np.random.default_rng([5, i]), size)[0]
        assert np.array_equal(det.render_scene(t, np.random.default_rng([5, i]), size), expected)


def _train(n_wagons: int) -> R.Train:
    return R.Train([R.Wagon(2, "box", "open", 2, None, 0) for _ in range(n_wagons)], wheel_size=2)


def test_without_the_locomotive_the_picture_differs_and_the_train_is_recentred():
    t = _train(1)
    full = det.render_scene(t, np.random.default_rng(0), 64).astype(int)
    no_loco = det.render_scene(t, np.random.default_rng(0), 64, locomotive=False).astype(int)
    empty = det.render_scene(t, np.random.default_rng(0), 64, train=False).astype(int)
    # the background is the same draw in all three: what differs from it is the train
    drawn_full = np.abs(full - empty).sum(2) > 30
    drawn_no_loco = np.abs(no_loco - empty).sum(2) > 30
    assert drawn_full.sum() > drawn_no_loco.sum() > 0
    # one wagon alone is laid out as a train of its own length: its pixels' mean column sits near the centre
    cols = np.nonzero(drawn_no_loco)[1]
    assert abs(cols.mean() - 32) < 6


def test_shuffle_patches_permutes_tiles_and_checks_the_size():
    img = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    out = det.shuffle_patches(img, np.random.default_rng(0), patch=4)
    tiles = lambda x: sorted(x[r : r + 4, c : c + 4].tobytes() for r in (0, 4) for c in (0, 4))
    assert tiles(out) == tiles(img) and not np.array_equal(out, img)
    with pytest.raises(ValueError, match="patches"):
        det.shuffle_patches(np.zeros((6, 8, 3), np.uint8), np.random.default_rng(0), patch=4)


def test_detector_renders_label_each_kind_and_are_prefix_stable():
    x, loco, wagons = det.detector_renders(120, 32, seed=3)
    assert x.shape == (120, 3, 32, 32) and x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert set(loco.unique().tolist()) == {0.0, 1.0}
    assert wagons.min() == 0 and wagons.max() <= det.MAX_WAGONS
    assert (wagons[loco == 1] >= 1).all()  # every train with a locomotive has 1-4 wagons
    assert ((loco == 0) & (wagons > 0)).any() and ((loco == 0) & (wagons == 0)).any()  # both kinds of negatives
    x2, loco2, wagons2 = det.detector_renders(40, 32, seed=3)
    assert torch.equal(x2, x[:40]) and torch.equal(loco2, loco[:40]) and torch.equal(wagons2, wagons[:40])
    with pytest.raises(ValueError, match="divisible"):
        det.detector_renders(4, 30)


def test_wagon_distribution_and_total_variation():
    p = det.wagon_distribution(torch.tensor([1, 1, 2, 4]))
    assert p.tolist() == [0.0, 0.5, 0.25, 0.0, 0.25]
    assert det.total_variation(p, p) == 0.0
    q = det.wagon_distribution(torch.tensor([0, 0, 0, 0]))
    assert det.total_variation(p, q) == pytest.approx(1.0)
    assert det.total_variation(p, det.wagon_distribution(torch.tensor([1, 2, 2, 4]))) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="0..4"):
        det.wagon_distribution(torch.tensor([5]))
    with pytest.raises(ValueError, match="supports"):
        det.total_variation(p, p[:3])


def test_detector_heads_shapes_and_input_check():
    model = det.TrainDetector(width=4, img_size=32)
    loco, wagons = model(torch.zeros(2, 3, 32, 32))
    assert loco.shape == (2,) and wagons.shape == (2, det.MAX_WAGONS + 1)
    p, count = model.detect(torch.zeros(3, 3, 32, 32))
    assert ((p >= 0) & (p <= 1)).all() and count.dtype == torch.int64
    with pytest.raises(ValueError, match="RGB"):
        model.detect(torch.zeros(2, 1, 32, 32))


def test_detector_learns_the_locomotive_from_a_small_run(tmp_genxai):
    torch.set_num_threads(1)
    config = det.TrainsDetectorConfig(n_images=800, epochs=3, width=8, batch_size=32)
    trained = get_or_train(config, progress=False)
    acc = trained.metrics
    assert set(acc) == {"locomotive", "wagons", "wagons_on_trains", "locomotive_blurred", "locomotive_noisy"}
    # better than always answering the majority class (55 % of the renders have no locomotive)
    assert acc["locomotive"] > 0.7
    x, loco, wagons = config.data("test")
    assert len(x) == 200 and acc == det.held_out_accuracy(trained.model, x, loco, wagons)


def test_degrade_keeps_range_and_shape_is_seeded_and_leaves_some_images_sharp():
    x = torch.rand(64, 3, 32, 32) * 2 - 1
    a = det.degrade(x, torch.Generator().manual_seed(0))
    b = det.degrade(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and a.min() >= -1 and a.max() <= 1
    same = (a - x).abs().flatten(1).max(1).values == 0
    assert 0 < int(same.sum()) < 64  # sharp and noise-free for some images (about 1/6), changed for the others
    blurred = det.blur_down_up(x)
    assert blurred.shape == x.shape and blurred.std() < x.std()  # blur removes pixel-level variation
