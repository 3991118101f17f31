"""The body of the trains work's notebooks, one function per step, for either data set.

``notebooks/trains/01_fashion`` and ``02_trains`` run the same steps on Fashion-MNIST and on our procedural trains;
the steps live here so that the two notebooks differ only in the data set (and the trains notebook's extra look at
where the TypeA classifier errs).  The order of the calls is the order of the random draws: keep it.

1. :func:`classifiers`: the classifier to be perceived (and, for trains, the extra concept classifiers);
2. :func:`experiment1`: a WGAN-GP with and without the classifier's steering term (Eq. ``L_G`` in the package doc);
3. :func:`experiment2`: class frontiers in a VAE's latent space, found by bisection;
4. :func:`realism`: Frechet distance to real test images in the classifier's feature space;
5. :func:`metrics`: the ``metrics.json`` entry of the data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

from .. import profiles
from ..metrics import feature_fid
from ..models import ClassifierConfig, accuracy, get_or_train, predict_logits
from . import frontier
from .concept_cnn import ConceptClassifierConfig
from .subgroups import accuracy_by_group
from .vae import VAEConfig
from .wgan_gp import WGANGPConfig, sample, snapshots

#: Names of the two data sets (``metrics.json`` keys and the suffix of every output file).
DATASETS = ("fashion", "trains")


def settings(P: profiles.Profile, profile: str, data: str) -> profiles.Profile:
    """One data set's block of the trains profile, with attribute access."""
    if data not in DATASETS:
        raise ValueError(f"unknown trains data set {data!r}; choose one of {', '.join(DATASETS)}")
    return profiles.Profile("trains", f"{profile}.{data}", P[data])


@dataclass
class Classifiers:
    """The classifier to be perceived, its test set and the test accuracy of every classifier trained."""

    data: str
    data_kw: dict[str, Any]
    config: ClassifierConfig
    model: torch.nn.Module
    test: Any
    accuracy: dict[str, float]
    extras: dict[str, tuple[torch.nn.Module, Any]] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return self.test.classes


def classifiers(Q: profiles.Profile, data: str, seed: int, dev: torch.device) -> Classifiers:
    """Train (or load) the main classifier and, for trains, the extra task classifiers (``extra_tasks``)."""
    if data == "trains":
        from ..data.trains import RENDERER  # the generator version: part of every model's cache key

        data_kw = dict(
            dataset="trains",
            data_kwargs={"task": Q.task, "n_images": Q.n_images, "img_size": Q.img_size, "renderer": RENDERER},
        )
    else:
        data_kw = dict(dataset="fashion_mnist")
    cfg = ClassifierConfig(**data_kw, **Q.classifier, seed=seed)
    model = get_or_train(cfg, device=dev).model
    test = cfg.data("test")
    acc = {"main": accuracy(model, test.images.to(dev), test.labels.to(dev))}
    extras = {}
    for task, kw in Q.get("extra_tasks", {}).items():
        from ..data.trains import RENDERER

        kw = dict(kw)
        # arch "concept": a CNN ending in a global max pool (genxai.trains.concept_cnn), for "some wagon with X"
        Config = ConceptClassifierConfig if kw.pop("arch", "small") == "concept" else ClassifierConfig
        extra_cfg = Config(
            dataset="trains",
            data_kwargs={
                "task": task,
                "n_images": kw.pop("n_images"),
                "img_size": kw.pop("img_size"),
                "renderer": RENDERER,
            },
            **{"max_rotate": 0.0, "max_shift": 1, **kw},
            seed=seed,
        )
        extra = get_or_train(extra_cfg, device=dev).model
        et = extra_cfg.data("test")
        acc[task] = accuracy(extra, et.images.to(dev), et.labels.to(dev))
        extras[task] = (extra, et)
    return Classifiers(data, data_kw, cfg, model, test, acc, extras)


def accuracy_table(C: Classifiers, Q: profiles.Profile) -> pd.DataFrame:
    """Test accuracy per classifier (the main task first)."""
    main = Q.task if C.data == "trains" else "fashion_mnist (10 classes)"
    return pd.DataFrame([{"classifier": main if k == "main" else k, "test_acc": v} for k, v in C.accuracy.items()])


#: The concepts the TypeA rule is built from: TypeA = EmptyTrain or WarTrain, WarTrain = some passenger car and
#: some reinforced car.
TYPEA_CONCEPTS = ["TypeA", "EmptyTrain", "WarTrain", "PassengerCar", "ReinforcedCar"]


def typea_subgroups(C: Classifiers) -> pd.DataFrame:
    """Test accuracy of the TypeA classifier per combination of the concepts of its rule (empty if not trained)."""
    if "TypeA" not in C.extras:
        return pd.DataFrame()
    model, et = C.extras["TypeA"]
    pred = predict_logits(model, et.images).argmax(1)
    return accuracy_by_group(et.extra["table"], (pred == et.labels).numpy(), TYPEA_CONCEPTS)


@dataclass
class Experiment1:
    configs: dict[str, WGANGPConfig]
    gans: dict[str, Any]
    share: dict[str, list[float]]
    target: str
    steer_class: int

    @property
    def steered(self):
        """The WGAN-GP trained with the steering term."""
        return list(self.gans.values())[1].model


def experiment1(Q: profiles.Profile, C: Classifiers, seed: int, dev: torch.device) -> Experiment1:
    """Train (or load) the WGAN-GP without and with steering towards ``Q.steer_class``."""
    gan_kw = dict(
        **C.data_kw, **dict(Q.gan.items()), classifier=C.config.to_dict(), steer_class=Q.steer_class, seed=seed
    )
    if C.data == "trains":
        gan_kw["data_kwargs"] = C.config.data_kwargs
    configs = {
        "without steering": WGANGPConfig(**gan_kw, steer_weight=0.0),
        f"with steering (weight {Q.steer_weight:g})": WGANGPConfig(**gan_kw, steer_weight=Q.steer_weight),
    }
    gans = {name: get_or_train(cfg, device=dev) for name, cfg in configs.items()}
    share = {name: [h["share_assigned"] for h in g.record["history"]] for name, g in gans.items()}
    return Experiment1(configs, gans, share, C.classes[Q.steer_class], Q.steer_class)


def exp1_grids(X: Experiment1, n_epochs: int, per_epoch: int = 6) -> dict[str, tuple[torch.Tensor, list[int]]]:
    """Per run: (per_epoch, n_epochs) monitor images the classifier assigned to the steered class, as an
    (per_epoch * n_epochs, C, H, W) tensor in row-major order (one column per epoch), and the epochs (0-based).

    Columns with fewer than ``per_epoch`` assigned images are padded with black.
    """
    out = {}
    for name, cfg in X.configs.items():
        snaps = snapshots(cfg)
        epochs = sorted(snaps)[-n_epochs:]
        cols = []
        for e in epochs:
            imgs, pred = snaps[e]
            chosen = imgs[pred == X.steer_class][:per_epoch]
            pad = torch.full((per_epoch - len(chosen), *imgs.shape[1:]), -1.0)
            cols.append(torch.cat([chosen, pad]))
        out[name] = (torch.stack(cols, 1).flatten(0, 1), epochs)
    return out


@dataclass
class Experiment2:
    vae: Any
    results: list  # (a, b, FrontierResult, endpoint info)
    strips: list  # (a, b, images (paths, steps, C, H, W), t, p(A))
    table: pd.DataFrame


def experiment2(Q: profiles.Profile, C: Classifiers, seed: int, dev: torch.device) -> Experiment2:
    """Bisect latent paths of a VAE between class-A and class-B images to the frontier |p(A) - 0.5| <= 0.02."""
    vae_kw = dict(**C.data_kw, **Q.vae, seed=seed)
    if C.data == "trains":
        vae_kw["data_kwargs"] = C.config.data_kwargs
    vae = get_or_train(VAEConfig(**vae_kw), device=dev).model
    test = C.test
    with torch.no_grad():
        mu = torch.cat([vae.encode(test.images[i : i + 512].to(dev))[0] for i in range(0, len(test), 512)])
    results, strips = [], []
    for a, b in Q.pairs:
        # path ends the classifier is confident about (p >= 0.75); latents moved there by gradient
        # ascent where the VAE decodes too few confident images of a class (counted in the table)
        za, zb, info = frontier.endpoints(mu, vae.decode, C.model, a, b, Q.n_pairs, return_info=True)
        res = frontier.bisect(vae.decode, C.model, za, zb, a, tol=0.02)
        imgs, t, p = frontier.traversal(vae.decode, C.model, za[:3], zb[:3], a, steps=Q.strip_steps)
        results.append((a, b, res, info))
        strips.append((a, b, imgs, t, p))
    classes = C.classes
    table = pd.DataFrame(
        [
            {
                "A": classes[a],
                "B": classes[b],
                "paths": len(r.p),
                "hit_rate": float(r.hit.float().mean()),
                "mean_abs_p_minus_half": float((r.p - 0.5).abs().mean()),
                "ends_moved": info["refined_a"] + info["refined_b"],
                "ends_below_0.75": info["below_margin_a"] + info["below_margin_b"],
            }
            for a, b, r, info in results
        ]
    )
    return Experiment2(vae, results, strips, table)


@dataclass
class Realism:
    fid: dict[str, float]
    final_share: dict[str, float]
    table: pd.DataFrame


def realism(
    Q: profiles.Profile, C: Classifiers, X1: Experiment1, X2: Experiment2, seed: int, dev: torch.device
) -> Realism:
    """Frechet distance of each generator's samples to real test images, in the classifier's features, and the
    share of the final samples assigned to the steered class."""
    test, clf, vae = C.test, C.model, X2.vae
    real = test.images[: Q.n_eval]
    fakes = {name: sample(g.model.generator, Q.n_eval, seed=seed)[0].cpu() for name, g in X1.gans.items()}
    with torch.no_grad():
        z = torch.randn(Q.n_eval, vae.z_dim, generator=torch.Generator().manual_seed(seed))
        fakes["VAE samples"] = vae.decode(z.to(dev)).cpu()
    fid = {name: feature_fid(clf, real, x) for name, x in fakes.items()}
    half = len(test) // 2
    fid["real vs real (other half)"] = feature_fid(clf, test.images[:half][: Q.n_eval], test.images[half:][: Q.n_eval])
    final_share = {
        name: float((clf(x.to(dev)).argmax(1) == Q.steer_class).float().mean())
        for name, x in fakes.items()
        if name != "VAE samples"
    }
    table = pd.DataFrame(
        [{"samples": k, "feature_fid": v, f"share '{X1.target}'": final_share.get(k)} for k, v in fid.items()]
    )
    return Realism(fid, final_share, table)


def metrics(
    C: Classifiers, X1: Experiment1, X2: Experiment2, R: Realism, subgroups: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The data set's ``metrics.json`` entry (written under the data set's name)."""
    names = list(X1.gans)
    out = {
        "classifier_test_acc": C.accuracy,
        "steer_class": X1.target,
        "share_assigned": {
            "without_steering": R.final_share[names[0]],
            "with_steering": R.final_share[names[1]],
            "per_epoch": X1.share,
        },
        "frontier": {
            "hit_rate": float(torch.cat([r.hit for _, _, r, _ in X2.results]).float().mean()),
            "mean_abs_p_minus_half": float(torch.cat([(r.p - 0.5).abs() for _, _, r, _ in X2.results]).mean()),
            "pairs": X2.table.to_dict("records"),
        },
        "feature_fid": R.fid,
    }
    if subgroups is not None and len(subgroups):
        out["typea_subgroups"] = subgroups.to_dict("records")
    return out
