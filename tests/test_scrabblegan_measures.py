"""Shape and reading measures on synthetic images whose stroke width, slant and length are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxai.scrabblegan import measures


def _bars(width: int, slant: float = 0.0, x0: int = 20, x1: int = 60, h: int = 32, w: int = 96) -> torch.Tensor:
    """Vertical bars (rows 4-27) of ``width`` px every 10 px from x0 to x1, sheared by ``slant`` (px per px up)."""
    img = np.ones((h, w), np.float32)
    for r in range(4, 28):
        up = (h - 1 - r) - (h - 1 - 27)  # height above the bars' foot
        for c0 in range(x0, x1, 10):
            start = int(round(c0 + slant * up))
            img[r, start : start + width] = -1.0
    return torch.from_numpy(img)[None, None]


@pytest.mark.parametrize("width", [1, 3, 5])
def test_ink_width_recovers_stroke_width(width):
    assert measures.ink_width(_bars(width)).item() == pytest.approx(width, abs=0.6)


def test_ink_width_orders_strokes_and_is_nan_without_ink():
    widths = measures.ink_width(torch.cat([_bars(2), _bars(4), _bars(6)]))
    assert widths[0] < widths[1] < widths[2]
    assert torch.isnan(measures.ink_width(torch.ones(1, 1, 32, 32)))[0]


@pytest.mark.parametrize("slant", [-0.4, 0.0, 0.3, 0.6])
def test_slant_recovers_the_shear(slant):
    assert measures.slant_of(_bars(2, slant)).item() == pytest.approx(slant, abs=0.05)


def test_ink_length_is_the_inked_span():
    assert measures.ink_length(_bars(3, x0=10, x1=41)).item() == 30 + 3  # bars at 10, 20, 30, 40, 3 px wide
    assert measures.ink_length(torch.ones(1, 1, 32, 16)).item() == 0


def test_error_rates_and_edit_distance():
    assert measures.edit_distance("kitten", "sitting") == 3
    r = measures.error_rates(["abc", "abd", ""], ["abc", "abc", "xy"])
    assert r["cer"] == pytest.approx((0 + 1 + 2) / 8) and r["wer"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="equally many"):
        measures.error_rates(["a"], [])


def test_frechet_distance_zero_for_same_gaussian_and_mean_shift_otherwise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3))
    assert measures.frechet_distance(a, b) < 0.02
    assert measures.frechet_distance(a, b + 2.0) == pytest.approx(12.0, rel=0.05)  # |mu1 - mu2|^2 = 3 * 4


def test_style_diversity_is_mean_pairwise_distance():
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert measures.style_diversity(f) == pytest.approx(5.0)
    assert measures.style_diversity(torch.zeros(5, 2)) == 0.0


def test_rates_by_writer_scores_each_writer_apart_worst_first():
    """An oracle recogniser that reads writer 0's (white) images right and writer 1's (black) ones as 'zz'."""
    from torch import nn

    from genxai.data._text import TextSet
    from genxai.data.handwriting import ALPHABET, WRITERS
    from genxai.scrabblegan.experiments import rates_by_writer

    class Oracle(nn.Module):
        def forward(self, x):
            out = torch.full((8, len(x), len(ALPHABET) + 1), -10.0)
            out[:, :, 0] = 0.0  # blank everywhere ...
            for b, bright in enumerate((x.mean((1, 2, 3)) > 0).tolist()):
                first, second = ALPHABET.encode("ab" if bright else "zz")
                out[0, b], out[2, b] = -10.0, -10.0  # ... but two characters, a blank apart
                out[0, b, first], out[2, b, second] = 0.0, 0.0
            return out

    pixels = [np.full((32, 32), 255 if w == 0 else 0, np.uint8) for w in (0, 0, 0, 1, 1)]
    data = TextSet(pixels, ["ab"] * 5, ALPHABET, "handwriting", "test", "fixture", np.array([0, 0, 0, 1, 1]))
    table = rates_by_writer(Oracle(), data)
    assert table["writer"].tolist() == [WRITERS[1], WRITERS[0]]  # worst first
    assert table["words"].tolist() == [2, 3]
    assert table["CER"].tolist() == [1.0, 0.0] and table["WER"].tolist() == [1.0, 0.0]
