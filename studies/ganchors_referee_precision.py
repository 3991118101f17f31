"""Does a GANchors anchor hold on samples the search did not draw?  Search estimate vs a referee.

For each of the first ``--images`` MNIST test classes, explain the image with our fastest row
(``batch_bn_reuse``'s settings from ``make_samplers``, with ``--set NAME=VALUE`` overrides, JSON values),
then re-measure the anchor's precision on ``--n`` samples of a *referee*: the paper's Alg. 3 with
BatchNorm in train mode, prior-initialised latents, lr 1e-1, no sample reuse, a generous step cap
(``--referee-steps``; the samples it fills in above xi are counted and printed).
Prints, per image, the anchor, seconds, the search's estimate and the referee's precision, then the means.

Usage: python studies/ganchors_referee_precision.py [--images 5] [--n 50] [--set warm=null]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from genxai import data, profiles, repro
from genxai.ganchors import DCGANConfig, SearchConfig
from genxai.ganchors.experiments import make_referee, make_samplers
from genxai.ganchors.explain import AnchorImage, independent_precision
from genxai.ganchors.segmentation import quickshift_k
from genxai.models import standard_classifier
from genxai.models.parallel import get_or_train_many


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--n", type=int, default=50, help="referee samples per anchor")
    ap.add_argument("--referee-steps", type=int, default=1000, help="the referee's Adam step cap")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a make_samplers argument of the reuse rows, e.g. warm=null",
    )
    args = ap.parse_args()
    P = profiles.get("ganchors", args.profile)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    repro.seed_everything(0)
    clf = standard_classifier("mnist", args.profile).model
    [gan] = get_or_train_many([DCGANConfig(dataset="mnist", **P.gan)])
    G = gan.model.G.eval()
    test = data.load("mnist", "test")
    images = test.first_of_each_class().images[: args.images]
    rows = []
    for i, image in enumerate(images):
        sampler = make_samplers(
            G,
            None,
            test.images[:1],
            P.xi,
            P.n_latents,
            restart_steps=P.restart_steps,
            max_steps=P.max_steps,
            **overrides,
        )["batch_bn_reuse"]
        torch.manual_seed(i)
        exp = AnchorImage(
            clf, sampler, lambda x: quickshift_k(x, P.segments), SearchConfig(**P.search), seed=i
        ).explain(image)
        referee = make_referee(G, P.xi, P.n_latents, restart_steps=P.restart_steps, max_steps=args.referee_steps)
        ref = independent_precision(clf, referee, image, exp.segmentation.labels, exp.features, exp.target, args.n)
        rows.append((exp.seconds, exp.result.precision, ref))
        print(
            f"image {i}: anchor {exp.features}, {exp.seconds:.1f} s, search {exp.result.precision:.3f}, "
            f"referee {ref:.2f} ({referee.stats.over_threshold} of {args.n} above xi)",
            flush=True,
        )
    s, p, r = np.mean(rows, 0)
    print(f"mean over {len(rows)} images: {s:.1f} s per explanation, search precision {p:.3f}, referee {r:.3f}")


if __name__ == "__main__":
    main()
