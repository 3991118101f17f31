"""``genxai synth``: a folder of generated PNGs per class with the classifier's probabilities.

From a cached generator (WGAN-GP config or VAE config, as JSON) and a cached classifier config:
sample latents, label each image by the classifier's argmax, keep ``n`` per class (optionally
only confident ones, p >= --confident, or only frontier images found by bisection), write
``<out>/<class>/<i>.png`` and ``labels.csv`` (file, class, p_<class>...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch
from PIL import Image

from ..data import to_uint8
from . import frontier as fr


def load_models(generator_config: dict, classifier_config: dict, device="cpu"):
    """(decode(z), z_dim, classifier, class names) from cached configs (trains them if missing)."""
    from ..models import ClassifierConfig, get_or_train
    from .vae import VAEConfig
    from .wgan_gp import WGANGPConfig

    kind = generator_config.get("kind", "wgan_gp")
    fields = {k: v for k, v in generator_config.items() if k != "kind"}
    clf_cfg = ClassifierConfig(**classifier_config)
    clf = get_or_train(clf_cfg, device=device).model.eval()
    classes = clf_cfg.data("test").classes
    if kind == "wgan_gp":
        g = get_or_train(WGANGPConfig(**fields), device=device).model.generator.eval()
        return g, g.z_dim, clf, classes
    if kind == "vae":
        v = get_or_train(VAEConfig(**fields), device=device).model.eval()
        return v.decode, v.z_dim, clf, classes
    raise ValueError(f"unknown generator kind {kind!r}: use 'wgan_gp' or 'vae'")


@torch.no_grad()
def synthesize(
    decode,
    z_dim: int,
    classifier,
    classes,
    n_per_class: int,
    seed: int = 0,
    confident: float | None = None,
    frontier: bool = False,
    pool: int = 2000,
    tol: float = 0.02,
):
    """-> images (M, C, H, W), table with class and per-class probabilities."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(pool, z_dim, generator=g)
    imgs = torch.cat([decode(z[i : i + 256]) for i in range(0, pool, 256)])
    probs = torch.cat([classifier(imgs[i : i + 256]).softmax(1) for i in range(0, pool, 256)])
    if frontier:
        out_imgs, rows = [], []
        pred = probs.argmax(1)
        for a in range(len(classes)):
            b = int(probs[pred == a].mean(0).topk(2).indices[1]) if (pred == a).any() else (a + 1) % len(classes)
            za, zb = z[pred == a][:n_per_class], z[pred == b][:n_per_class]
            k = min(len(za), len(zb))
            if k == 0:
                continue
            res = fr.bisect(decode, classifier, za[:k], zb[:k], a, tol=tol)
            keep = res.hit
            out_imgs.append(res.images[keep])
            p = classifier(res.images[keep]).softmax(1)
            rows += [
                {"class": f"{classes[a]}|{classes[b]}", **{f"p_{c}": float(v) for c, v in zip(classes, pi)}} for pi in p
            ]
        columns = ["class"] + [f"p_{c}" for c in classes]
        return (torch.cat(out_imgs) if out_imgs else imgs[:0]), pd.DataFrame(rows, columns=columns)
    conf, pred = probs.max(1)
    keep_imgs, rows = [], []
    for c in range(len(classes)):
        mask = pred == c
        if confident is not None:
            mask &= conf >= confident
        idx = mask.nonzero().flatten()[:n_per_class]
        keep_imgs.append(imgs[idx])
        rows += [{"class": classes[c], **{f"p_{k}": float(v) for k, v in zip(classes, probs[i])}} for i in idx]
    return torch.cat(keep_imgs), pd.DataFrame(rows)


def write_folder(images: torch.Tensor, table: pd.DataFrame, out: Path) -> Path:
    out = Path(out)
    files = []
    for i, (img, cls) in enumerate(zip(to_uint8(images), table["class"])):
        folder = out / str(cls).replace("/", "_").replace("|", "__")
        folder.mkdir(parents=True, exist_ok=True)
        f = folder / f"{i:05d}.png"
        Image.fromarray(img.squeeze(-1) if img.shape[-1] == 1 else img).save(f)
        files.append(str(f.relative_to(out)))
    table = table.copy()
    table.insert(0, "file", files)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "labels.csv", index=False)
    return out / "labels.csv"


def _cmd_synth(args: argparse.Namespace) -> int:
    gen = json.loads(Path(args.generator).read_text()) if Path(args.generator).exists() else json.loads(args.generator)
    clf = (
        json.loads(Path(args.classifier).read_text()) if Path(args.classifier).exists() else json.loads(args.classifier)
    )
    decode, z_dim, classifier, classes = load_models(gen, clf, args.device)
    imgs, table = synthesize(
        decode, z_dim, classifier, classes, args.n, args.seed, args.confident, args.frontier, pool=args.pool
    )
    path = write_folder(imgs, table, Path(args.out))
    print(f"wrote {len(table)} images and {path}")
    if not len(table):
        print("no image passed the filter: sample more latents (--pool) or relax --confident", file=sys.stderr)
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("synth", help="write generated PNGs per class + labels.csv with classifier probabilities")
    p.add_argument(
        "--generator",
        required=True,
        help='JSON (or a .json file) of a WGANGPConfig/VAEConfig plus "kind": "wgan_gp" | "vae"',
    )
    p.add_argument("--classifier", required=True, help="JSON (or a .json file) of a ClassifierConfig")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("-n", type=int, default=16, help="images per class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pool", type=int, default=2000, help="latents sampled to choose from")
    p.add_argument("--confident", type=float, default=None, help="keep only images with max probability >= this")
    p.add_argument("--frontier", action="store_true", help="keep only frontier images (|p - 0.5| <= 0.02)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_cmd_synth)
