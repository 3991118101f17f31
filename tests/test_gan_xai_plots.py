"""The GAN-explainability figures: the direction grid keeps its header tight and labels shifts exactly."""

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from genxai.gan_xai.plots import _shift_label, direction_blocks


def test_shift_labels_keep_sign_and_size():
    labels = [_shift_label(s) for s in torch.linspace(-4, 4, 7).tolist()]
    assert labels == ["-4", "-2.7", "-1.3", "+0", "+1.3", "+2.7", "+4"]


@pytest.mark.parametrize("rows", [2, 8])
def test_direction_blocks_header_leaves_no_empty_band(rows):
    blocks = [torch.zeros(rows, 5, 1, 8, 8) for _ in range(3)]
    fig = direction_blocks(blocks, [-2, -1, 0, 1, 2], ["a", "b", "c"], suptitle="three directions")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title_bottom = fig._suptitle.get_window_extent(renderer).y0
    texts_top = max(t.get_window_extent(renderer).y1 for ax in fig.axes for t in ax.texts)
    grid_top = max(ax.get_window_extent(renderer).y1 for ax in fig.axes)
    gap_inches = (title_bottom - texts_top) / fig.dpi
    assert texts_top > grid_top  # the block titles sit above the grid
    assert 0 <= gap_inches < 0.25  # and the suptitle right above them, not overlapping, no band
    assert title_bottom < fig.bbox.height  # inside the canvas
