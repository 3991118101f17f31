"""ScrabbleGAN's costs at the cpu profile's sizes: generation throughput and one training step per loss term.

    GENXAI_THREADS=2 .venv/bin/python benchmarks/scrabblegan_cost.py [--profile cpu] [--reps 10]

Prints words/s of the generator (eval mode, batch 64) for 3-, 5- and 8-character words, with the self-attention
block at 8 x 8n and at 16 x 16n; then the time of each term of one training step (batch of the profile, 5-character
words): D's hinge loss, R's CTC on real words, G's adversarial loss, G's CTC through R, the balancing coefficient
(two gradients at the image) and InfoGAN's mutual-information term, each forward + backward, and the whole step.
"""

from __future__ import annotations

import argparse
import time

import torch

from genxai import profiles
from genxai.gan_xai.infogan import info_loss
from genxai.repro import default_threads
from genxai.scrabblegan.infogan import ScrabbleInfoGANConfig
from genxai.scrabblegan.model import balance_coefficient, ctc_loss, hinge_d
from genxai.scrabblegan.train import ScrabbleGANConfig


def timed(fn, reps: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(default_threads())
    torch.manual_seed(0)
    P = profiles.get("scrabblegan", args.profile)
    print(f"threads {torch.get_num_threads()}, profile {args.profile}: {P.gan}")

    for at in (0, 1):
        G = ScrabbleGANConfig(**{**P.gan, "attention_at": at}).build().G.eval()
        for n in (3, 5, 8):
            z = torch.randn(64, G.latent_dim)
            with torch.no_grad():
                t = timed(lambda G=G, z=z, n=n: G(z, text=["1" * n] * 64), max(2, args.reps // 3))
            print(f"generate, attention grid {'8 x 8n' if at == 0 else '16 x 16n'}, {n} chars: {64 / t:8.1f} words/s")

    cfg = ScrabbleInfoGANConfig(**{**P.gan, **P.infogan})
    model = cfg.build()
    G, D, R = model.G, model.D, model.R
    b, n = cfg.batch_size, 5
    real = torch.rand(b, 1, 32, 16 * n) * 2 - 1
    target = torch.randint(1, 11, (b, n))
    z, (cat, cont) = cfg.sample_z(model, b, torch.Generator().manual_seed(0))
    texts = ["12345"] * b

    def fake():
        return G(z, text=texts)

    terms = {
        "G forward alone": lambda: fake(),
        "D hinge (real + fake), fwd+bwd": lambda: hinge_d(D(real), D(fake().detach())).backward(),
        "R CTC on real, fwd+bwd": lambda: ctc_loss(R(real), target).backward(),
        "G adversarial, G fwd + D fwd+bwd": lambda: (-D(fake()).mean()).backward(),
        "G CTC through R, G fwd + R fwd+bwd": lambda: ctc_loss(R(fake()), target).backward(),
        "InfoGAN MI term, G fwd + Q fwd+bwd": lambda: info_loss(model.q(fake()), cat, cont)[0].backward(),
    }

    def balance():
        x = fake()
        balance_coefficient(-D(x).mean(), ctc_loss(R(x), target), x)

    terms["balancing coefficient, G fwd + 2 grads at the image"] = balance
    for name, fn in terms.items():
        print(f"{name:55s} {1000 * timed(fn, args.reps):8.1f} ms")

    def step():
        x = fake()
        hinge_d(D(real), D(x.detach())).backward()
        ctc_loss(R(real), target).backward()
        la, lr = -D(x).mean(), ctc_loss(R(x), target)
        a = balance_coefficient(la, lr, x)
        (la + a * lr + info_loss(model.q(x), cat, cont)[0]).backward()

    print(f"{'whole InfoGAN-ScrabbleGAN step (one backward of G)':55s} {1000 * timed(step, args.reps):8.1f} ms")


if __name__ == "__main__":
    main()
