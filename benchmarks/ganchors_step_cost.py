"""Cost of one Algorithm 3 step (G forward + backward to the latents) per memory format and batch size.

Profiling ``batch_bn_reuse`` on 5 MNIST images (cpu profile) put about 90 % of its time in
``GANSampler.reconstruct``, and 72 % of a step in the generator's (transposed) convolutions.  This
measures, side by side in one run, a step of the profile's DCGAN in BatchNorm-train mode with
NCHW (PyTorch's default) and channels-last (NHWC) weights, for the batch sizes the samplers use,
and the largest output difference between the two.

    python benchmarks/ganchors_step_cost.py [--profile cpu] [--dataset mnist] [--threads 2] [--steps 60]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from genxai import profiles
from genxai.ganchors import DCGANConfig
from genxai.ganchors.samplers import anchor_loss
from genxai.models.parallel import get_or_train_many


def step_ms(G: torch.nn.Module, batch: int, steps: int) -> float:
    """Mean milliseconds of one anchor-loss step on ``batch`` latents (10 untimed warm-up steps)."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(batch, G.nz, generator=gen).requires_grad_(True)
    target = torch.rand(1, 1, 28, 28, generator=gen) * 2 - 1
    A = (torch.rand(1, 1, 28, 28, generator=gen) < 0.3).float()
    for i in range(steps + 10):
        if i == 10:
            start = time.perf_counter()
        anchor_loss(G(z), target * A, A).sum().backward()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60, help="timed steps per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="alternating measurements per setting (median kept)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    P = profiles.get("ganchors", args.profile)
    [gan] = get_or_train_many([DCGANConfig(dataset=args.dataset, **P.gan)])
    nchw = copy.deepcopy(gan.model.G).train()  # BN in train mode, as batch_bn and batch_bn_reuse
    for p in nchw.parameters():
        p.requires_grad_(False)
    nhwc = copy.deepcopy(nchw).to(memory_format=torch.channels_last)
    z = torch.randn(16, nchw.nz)
    diff = float((nchw(z) - nhwc(z)).abs().max())
    print(f"{args.threads} thread(s), DCGAN ngf {P.gan.get('ngf')}, max |NCHW - NHWC| output difference {diff:.2e}")
    print("batch  NCHW ms/step  NHWC ms/step  NHWC/NCHW")
    for batch in (8, 32, 64):
        runs = {"nchw": [], "nhwc": []}
        for _ in range(args.repeats):  # alternate, so that a busy moment hits both settings
            runs["nchw"].append(step_ms(nchw, batch, args.steps))
            runs["nhwc"].append(step_ms(nhwc, batch, args.steps))
        a, b = (sorted(v)[len(v) // 2] for v in (runs["nchw"], runs["nhwc"]))
        print(f"{batch:5d}  {a:12.2f}  {b:12.2f}  {b / a:9.2f}")


if __name__ == "__main__":
    main()
