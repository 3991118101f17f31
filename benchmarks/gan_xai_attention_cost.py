"""Cost of SAGAN self-attention and of direction discovery, as ratios measured side by side.

    .venv/bin/python benchmarks/gan_xai_attention_cost.py

Prints the time of a GAN training step (G and D updates) with attention over the time without,
and the time of one direction-discovery step over one GAN training step (same width, batch).
"""

import time

import torch
import torch.nn.functional as F

from genxai.gan_xai import Deformator, DirectionModel, Generator, Reconstructor, discovery_step
from genxai.gan_xai.gan import Discriminator, gan_losses


def gan_step_time(attention: bool, width: int = 32, batch: int = 32, reps: int = 20) -> float:
    torch.manual_seed(0)
    G, D = Generator(64, 10, width=width, attention=attention), Discriminator(10, width=width, attention=attention)
    opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))

    def step():
        fake = G(torch.randn(batch, 64), y)
        loss = gan_losses(D(x, y), D(fake.detach(), y))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        loss = F.softplus(-D(fake, y)).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    step()
    t = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - t) / reps


def discovery_step_time(width: int = 32, batch: int = 32, reps: int = 20) -> float:
    torch.manual_seed(0)
    G = Generator(64, 10, width=width, attention=True).eval()
    for p in G.parameters():
        p.requires_grad_(False)
    model = DirectionModel(Deformator(64, 16), Reconstructor(16))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    discovery_step(G, model, opt, batch, 6.0, 0.5)
    t = time.perf_counter()
    for _ in range(reps):
        discovery_step(G, model, opt, batch, 6.0, 0.5)
    return (time.perf_counter() - t) / reps


if __name__ == "__main__":
    torch.set_num_threads(1)
    with_attn, without = gan_step_time(True), gan_step_time(False)
    disc = discovery_step_time()
    print(f"GAN step with / without self-attention: {with_attn / without:.2f}x")
    print(f"direction-discovery step / GAN step (with attention): {disc / with_attn:.2f}x")
