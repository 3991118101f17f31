"""Machine-measured coherence and distinctness: factor table, detectors, effects, the measures themselves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxai.data.trains import render_trains
from genxai.stylex import attfind as af
from genxai.stylex import coherence as coh
from genxai.stylex.model import PairClassifierConfig, StylExConfig
from genxai.stylex.trains_task import (
    COLUMNS,
    FACTORS,
    DetectorNet,
    FactorDetectorConfig,
    TrainsStylExConfig,
    factor_table,
    r2_scores,
    trains_classifier,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def renders():
    imgs, table, _ = render_trains(12, size=32, seed=3, task="LongTrain")
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
    return x, table


def test_factor_table_reads_the_renderers_factors(renders):
    x, table = renders
    f = factor_table(x, table)
    assert list(f.columns) == list(COLUMNS) and len(f) == len(x)
    assert (f["NumberOfWagons"] == table["NumberOfWagons"]).all()
    assert np.allclose(f["LongShare"], table["NumberOfLongWagons"] / table["NumberOfWagons"])
    first = table["BodyColour"].iloc[0]
    assert f["BodyR"].iloc[0] == pytest.approx(int(first[1:3], 16) / 127.5 - 1)
    # the background is read from the border rows, where the train never is: painting them changes only it
    x2 = x.clone()
    x2[:, :, :3] = 1.0
    x2[:, :, -3:] = 1.0
    f2 = factor_table(x2, table)
    assert np.allclose(f2[["BackR", "BackG", "BackB"]], 1.0)
    assert (f2.drop(columns=["BackR", "BackG", "BackB"]) == f.drop(columns=["BackR", "BackG", "BackB"])).all().all()
    with pytest.raises(ValueError, match="extra\\['table'\\]"):
        factor_table(x[:3], table)


def test_every_factor_has_columns_and_every_column_one_factor():
    cols = [c for cs in FACTORS.values() for c in cs]
    assert sorted(cols) == sorted(COLUMNS) and len(set(cols)) == len(cols)


def test_measures_on_known_effect_matrices():
    one_hot = np.eye(3)
    assert np.allclose(coh.coherence(one_hot), 1.0)
    assert coh.distinctness(one_hot) == {"distinct_main": 1.0, "profile_distance": 1.0}
    same = np.tile([[0.1, 0.9, 0.0]], (4, 1))
    d = coh.distinctness(same)
    assert d["distinct_main"] == 0.25 and d["profile_distance"] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(coh.coherence(np.ones((2, 4))), 0.25)  # even spread over K = 4 factors: 1/K
    assert np.isnan(coh.coherence(np.zeros((1, 3))))[0]
    with pytest.raises(ValueError, match="at least two"):
        coh.distinctness(one_hot[:1])


def test_factor_matrix_takes_the_norm_of_a_factors_columns():
    col = np.zeros((1, len(COLUMNS)))
    col[0, COLUMNS.index("BodyR")] = 3.0
    col[0, COLUMNS.index("BodyG")] = -4.0
    col[0, COLUMNS.index("Angle")] = 1.0
    m = coh.factor_matrix(col, ["body colour", "angle", "scale"])
    assert np.allclose(m, [[5.0, 1.0, 0.0]])


def test_readable_factors_need_every_column_above_the_threshold():
    r2 = {c: 0.9 for c in COLUMNS} | {"BodyB": 0.3, "Scale": 0.1}
    got = coh.readable_factors(r2, 0.5)
    assert "body colour" not in got and "scale" not in got and "number of wagons" in got


def test_random_attributes_avoid_the_attfind_coordinates_and_are_seeded():
    a = coh.random_attributes(20, 5, [0, 1, 2], seed=4)
    assert len({i for _, i in a}) == 5 and not {i for _, i in a} & {0, 1, 2}
    assert a == coh.random_attributes(20, 5, [0, 1, 2], seed=4)
    with pytest.raises(ValueError, match="at most"):
        coh.random_attributes(5, 4, [0, 1], seed=0)


def test_r2_is_one_for_exact_and_zero_for_the_mean():
    truth = np.random.default_rng(0).normal(size=(50, 2))
    assert np.allclose(r2_scores(truth, truth), 1.0)
    assert np.allclose(r2_scores(np.tile(truth.mean(0), (50, 1)), truth), 0.0)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    m = StylExConfig(classifier=PairClassifierConfig(width=4, size=16), capacity=1, fmap_max=8, latent_dim=8).build()
    with torch.no_grad():
        for layer in m.G_ema.convs:
            layer.noise_strength.normal_()
    return m.eval()


class MeanBrightness:
    """A stand-in detector: every column reads the image's mean brightness, except Angle (always 0)."""

    def predict(self, x):
        v = x.mean((1, 2, 3))[:, None].repeat(1, len(COLUMNS))
        v[:, COLUMNS.index("Angle")] = 0
        return v


def test_factor_effects_are_the_mean_change_of_the_detector_over_the_images(tiny):
    codes = af.style_codes(tiny, torch.rand(5, 1, 16, 16) * 2 - 1, seed=1)
    sd = np.full(len(COLUMNS), 2.0)
    attrs = [(1, 3), (0, 7)]
    mean, se = coh.factor_effects(tiny, codes, MeanBrightness(), attrs, sd, shift_size=1.0)
    assert mean.shape == se.shape == (2, len(COLUMNS))
    base = af.images_of(tiny, codes, codes.flat).clamp(-1, 1).mean((1, 2, 3))
    after = af.images_of(tiny, codes, coh.shifted(codes, (1, 3), 1.0)).clamp(-1, 1).mean((1, 2, 3))
    assert mean[0, 0] == pytest.approx(float((after - base).mean() / 2.0), abs=1e-5)
    assert np.allclose(mean[:, COLUMNS.index("Angle")], 0.0)
    # the shift moves only coordinate i, to s_max (d = 1) with shift_size 1
    flat = coh.shifted(codes, (1, 3), 1.0)
    assert torch.allclose(flat[:, 3], codes.s_max[3].expand(5)) and torch.equal(flat[:, 4:], codes.flat[:, 4:])
    with pytest.raises(ValueError, match="factor_sd"):
        coh.factor_effects(tiny, codes, MeanBrightness(), attrs, sd[:3])


class FirstRows(torch.nn.Module):
    """A stand-in classifier: the first ``k`` images of a batch are class 0, the rest class 1."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x):
        logits = torch.zeros(len(x), 2)
        logits[: self.k, 0] = 1.0
        logits[self.k :, 1] = 1.0
        return logits


def test_balanced_codes_take_half_of_each_predicted_class(tiny):
    pool = torch.rand(40, 1, 16, 16) * 2 - 1
    C = tiny.C
    try:
        tiny.C = FirstRows(10)
        codes, idx = coh.balanced_codes(tiny, pool, 8)
        assert idx.tolist() == [0, 1, 2, 3, 10, 11, 12, 13]
        assert torch.equal(codes.flat, af.style_codes(tiny, pool).flat[idx])
        assert torch.equal(codes.s_min, codes.flat.min(0).values)  # AttFind's range over the chosen images
        tiny.C = FirstRows(2)  # too few of class 0: the rest comes from class 1
        _, idx = coh.balanced_codes(tiny, pool, 8)
        assert idx.tolist() == [0, 1, *range(2, 8)]
        tiny.C = FirstRows(0)  # everything is class 1
        with pytest.raises(ValueError, match="AttFind needs both classes"):
            coh.balanced_codes(tiny, pool, 8)
    finally:
        tiny.C = C


def test_detector_config_trains_and_reports_r2_for_every_column(tmp_genxai):
    from genxai.models import get_or_train

    cfg = FactorDetectorConfig(n_images=64, epochs=1, width=4, batch_size=32)
    cached = get_or_train(cfg, progress=False)
    assert set(cached.metrics["test_r2"]) == set(COLUMNS)
    net = cached.model
    assert isinstance(net, DetectorNet) and net.std.min() > 0
    x, f = cfg.data("test")
    assert net.predict(x[:4]).shape == (4, len(COLUMNS))


def test_trains_stylex_config_explains_a_trains_classifier():
    cfg = TrainsStylExConfig()  # constructible without data (the cache's config scans need that)
    assert cfg.classifier.dataset == "trains" and cfg.classifier.data_kwargs["task"] == "LongTrain"
    again = TrainsStylExConfig.from_dict(cfg.to_dict())
    assert again.classifier == cfg.classifier
    with pytest.raises(ValueError, match="trains classifier"):
        TrainsStylExConfig(classifier=trains_classifier().__class__(dataset="mnist"))
