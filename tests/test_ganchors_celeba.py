"""The CelebA-HQ path: skips with a message without user files, runs on a tiny RGB fixture."""

from __future__ import annotations

import textwrap

import numpy as np

from genxai.ganchors import AnchorImage, BatchSampler, SearchConfig, anchor_loss, slic_segments
from genxai.ganchors.celeba import load_user_setup


def test_missing_files_are_named(tmp_path):
    setup, missing = load_user_setup(None, str(tmp_path / "nope.pt"), str(tmp_path))
    assert setup is None and len(missing) == 3
    assert any("generator" in m for m in missing) and any("png/jpg" in m for m in missing)


def test_tiny_rgb_fixture_runs_an_anchor(tmp_path):
    from PIL import Image

    (tmp_path / "faces").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "faces" / f"{i}.png")
    (tmp_path / "gen.py").write_text(
        textwrap.dedent("""
        import torch
        from torch import nn
        class G(nn.Module):
            nz = 6
            def __init__(self):
                super().__init__()
                torch.manual_seed(0)
                self.fc = nn.Linear(6, 3 * 16 * 16)
            def forward(self, z):
                return torch.tanh(self.fc(z.flatten(1))).view(-1, 3, 16, 16)
        def load_generator():
            return G()
    """)
    )
    (tmp_path / "clf.py").write_text(
        textwrap.dedent("""
        import torch
        from torch import nn
        def load_classifier():
            torch.manual_seed(1)
            return nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 2))
    """)
    )
    setup, missing = load_user_setup(
        str(tmp_path / "gen.py"), str(tmp_path / "clf.py"), str(tmp_path / "faces"), size=16
    )
    assert missing == [] and setup.images.shape == (2, 3, 16, 16)
    xi = 0.3
    sampler = BatchSampler(setup.generator, xi=xi, n_latents=8, lr=0.1, nz=6)
    seg = lambda x: slic_segments(x, 4, 20)
    exp = AnchorImage(
        setup.classifier, sampler, seg, SearchConfig(batch_size=8, coverage_samples=20, max_anchor_size=2)
    ).explain(setup.images[0])
    assert exp.segmentation.labels.min() == 0
    A = exp.mask()[None, None]
    gz, losses = sampler.reconstruct(A, 4)
    assert (anchor_loss(gz, setup.images[0] * A, A) < xi).all()
