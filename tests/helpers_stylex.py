"""Helpers for the StylEx tests: the tiny settings every test trains with, LPIPS files in the official layout."""

from __future__ import annotations

import torch

from genxai.stylex import lpips as L

#: the smallest StylEx that trains in a second (capacity 1, 8-d latent, two steps); classifier excluded
TINY_STYLEX = dict(
    n_train=32, capacity=1, fmap_max=8, latent_dim=8, mapping_depth=2, epochs=1, steps_per_epoch=2, batch_size=8
)
#: the smallest Fashion-MNIST pair classifier (16 px)
TINY_PAIR_CLASSIFIER = dict(n_train=64, epochs=1, batch_size=32, width=4, size=16)


def official_lpips_files(folder, seed=0):
    """Random weights saved as torchvision's AlexNet and LPIPS v0.1's alex.pth name them."""
    g = torch.Generator().manual_seed(seed)
    net = L._alexnet_features()
    trunk = {f"features.{k}": torch.randn(v.shape, generator=g) * 0.05 for k, v in net.state_dict().items()}
    trunk["classifier.1.weight"] = torch.zeros(2, 3)  # torchvision's head: present in the file, ignored
    linear = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for i, c in enumerate(L.CHANNELS)}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(trunk, folder / L.TRUNK_FILE)
    torch.save(linear, folder / L.LINEAR_FILE)
    return folder
