"""The body of the trains work's notebooks, one function per step, for either data set.

``notebooks/trains/01_fashion`` and ``02_trains`` run the same steps on Fashion-MNIST and on our procedural trains;
the steps live here so that the two notebooks differ only in the data set (and the trains notebook's extra look at
where the TypeA classifier errs).  The order of the calls is the order of the random draws: keep it.

0. :func:`train`: every model of the data set, the independent ones side by side (``workers`` in the profile);
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
from ..data import balanced_indices
from ..metrics import feature_fid
from ..metrics.realism import judge_agreement
from ..metrics.realism import realism as realism_score
from ..models import ClassifierConfig, accuracy, predict_logits
from ..models.cache import CachedModel, ModelConfig
from ..models.judges import judge_config, standard_judge
from ..models.parallel import get_or_train_many
from ..repro import default_threads
from . import frontier
from .concept_cnn import ConceptClassifierConfig
from .detector import TrainsDetectorConfig, total_variation, wagon_distribution
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
class ModelConfigs:
    """Every model one data set's notebook trains, by role."""

    classifier: ClassifierConfig  # the classifier to be perceived (steers and monitors the WGAN-GPs)
    extras: dict[str, ClassifierConfig]  # per extra task (trains: TypeA)
    pretrained: WGANGPConfig  # Experiment 1's plain WGAN-GP
    continuations: dict[str, WGANGPConfig]  # Experiment 1's two runs from ``pretrained``: without, with steering
    vae: VAEConfig  # Experiment 2
    detector: TrainsDetectorConfig | None  # the objective train detector (trains only)


def model_configs(Q: profiles.Profile, data: str, seed: int) -> ModelConfigs:
    """The configs of every model of data set ``data`` under profile block ``Q``."""
    if data == "trains":
        from ..data.trains import RENDERER  # the generator version: part of every model's cache key

        data_kw = dict(
            dataset="trains",
            data_kwargs={"task": Q.task, "n_images": Q.n_images, "img_size": Q.img_size, "renderer": RENDERER},
        )
    else:
        data_kw = dict(dataset="fashion_mnist")
    cfg = ClassifierConfig(**data_kw, **Q.classifier, seed=seed)
    extras = {}
    for task, kw in Q.get("extra_tasks", {}).items():
        from ..data.trains import RENDERER

        kw = dict(kw)
        # arch "concept": a CNN ending in a global max pool (genxai.trains.concept_cnn), for "some wagon with X"
        Config = ConceptClassifierConfig if kw.pop("arch", "small") == "concept" else ClassifierConfig
        extras[task] = Config(
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
    gan_kw = dict(**data_kw, **Q.gan, classifier=cfg.to_dict(), steer_class=Q.steer_class, seed=seed)
    pretrained = WGANGPConfig(**gan_kw, steer_weight=0.0)
    more = {**gan_kw, "epochs": Q.steer_epochs, "init": pretrained.to_dict()}
    continuations = {
        "without steering": WGANGPConfig(**more, steer_weight=0.0),
        f"with steering (weight {Q.steer_weight:g})": WGANGPConfig(**more, steer_weight=Q.steer_weight),
    }
    vae = VAEConfig(**data_kw, **Q.vae, seed=seed)
    detector = TrainsDetectorConfig(**Q.detector, img_size=Q.img_size) if data == "trains" else None
    return ModelConfigs(cfg, extras, pretrained, continuations, vae, detector)


def models(Q: profiles.Profile, configs: list[ModelConfig], dev: torch.device) -> list[CachedModel]:
    """The trained models of ``configs``, trained (if not cached) in ``Q.workers`` processes side by side.

    Every trains model is trained and loaded through this one call, so a model's thread count (``cores /
    workers`` on CPU, part of its cache key) is the same whichever step asks for it first, and the models a
    worker loads while it trains (the WGAN-GPs' classifier and the run they continue) are those this process
    loads.  Never more processes than the thread budget (``GENXAI_THREADS``, which ``genxai reproduce --workers
    N`` sets to cores / N): with a budget of one thread the models train one after the other in this process,
    at the same one thread per model, so with the same weights as beside each other."""
    return get_or_train_many(configs, dev, workers=min(Q.workers, default_threads()))


def train(Q: profiles.Profile, data: str, seed: int, dev: torch.device) -> ModelConfigs:
    """Train every model of data set ``data`` that is not cached, in three stages of independent models.

    1. the classifier (the WGAN-GPs read it while they train);
    2. the plain WGAN-GP, the extra task classifiers, the detector and the VAE: independent of each other, so
       with ``Q.workers = 2`` they train two at a time, one thread each (the two longest first);
    3. the two continuations of the plain WGAN-GP.

    Why side by side: in the cpu profile the TypeA classifier (12,000 trains at 128 px) takes as long as the other
    three of stage 2 together, so beside them it adds nothing to the wall time; one thread each costs less than
    that (notebook 02 cold on 2 cores: 862 s in turn, 657 s staged; docs/trains.md, "Run time").  Each step of the
    notebook then loads its models from the cache through :func:`models`.
    """
    M = model_configs(Q, data, seed)
    models(Q, [M.classifier], dev)
    models(Q, [M.pretrained, *M.extras.values(), *([M.detector] if M.detector else []), M.vae], dev)
    models(Q, list(M.continuations.values()), dev)
    return M


def model_table(Q: profiles.Profile, M: ModelConfigs, dev: torch.device) -> pd.DataFrame:
    """One row per model of ``M``: its role, cache family and key, compute tag and training wall time (from the
    cache record: the time of the run that trained it, whenever that was)."""
    roles = {
        "classifier": M.classifier,
        **{f"{task} classifier": cfg for task, cfg in M.extras.items()},
        "WGAN-GP, pre-training": M.pretrained,
        **{f"WGAN-GP, {name}": cfg for name, cfg in M.continuations.items()},
        "VAE": M.vae,
        **({"detector": M.detector} if M.detector else {}),
    }
    rows = []
    for (role, cfg), cached in zip(roles.items(), models(Q, list(roles.values()), dev)):
        prov = cached.record.get("provenance", {})
        seconds = prov.get("wall_time_s_all_parts", prov.get("wall_time_s"))
        rows.append(
            {
                "model": role,
                "family": cfg.family,
                "key": cached.path.stem,
                "trained on": cached.record.get("compute"),
                "training time (min)": None if seconds is None else round(seconds / 60, 1),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Classifiers:
    """The classifier to be perceived, its test set and the test accuracy of every classifier trained."""

    data: str
    config: ClassifierConfig
    model: torch.nn.Module
    test: Any
    accuracy: dict[str, float]
    extras: dict[str, tuple[torch.nn.Module, Any]] = field(default_factory=dict)
    correct: dict[str, torch.Tensor] = field(default_factory=dict)  # per extra task: test image classified right

    @property
    def classes(self) -> list[str]:
        return self.test.classes


def classifiers(Q: profiles.Profile, data: str, seed: int, dev: torch.device) -> Classifiers:
    """Train (or load) the main classifier and, for trains, the extra task classifiers (``extra_tasks``)."""
    M = model_configs(Q, data, seed)
    cfg = M.classifier
    model = models(Q, [cfg], dev)[0].model
    test = cfg.data("test")
    acc = {"main": accuracy(model, test.images.to(dev), test.labels.to(dev))}
    extras, correct = {}, {}
    for (task, extra_cfg), cached in zip(M.extras.items(), models(Q, list(M.extras.values()), dev)):
        et = extra_cfg.data("test")
        # kept per image: the subgroup table reads the same predictions instead of classifying the test set again
        # (TypeA's is the largest the notebooks classify: 12,000 trains at 128 px)
        correct[task] = predict_logits(cached.model, et.images.to(dev)).argmax(1).cpu() == et.labels
        acc[task] = float(correct[task].float().mean())
        extras[task] = (cached.model, et)
    return Classifiers(data, cfg, model, test, acc, extras, correct)


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
    _, et = C.extras["TypeA"]
    return accuracy_by_group(et.extra["table"], C.correct["TypeA"].numpy(), TYPEA_CONCEPTS)


@dataclass
class Experiment1:
    configs: dict[str, WGANGPConfig]  # the two runs compared, both continuing ``pretrained``
    gans: dict[str, Any]
    share: dict[str, list[float]]  # per run, per epoch after pre-training
    target: str
    steer_class: int
    pretrained: WGANGPConfig | None = None
    pretrain_share: list[float] = field(default_factory=list)  # per pre-training epoch

    @property
    def steered(self):
        """The WGAN-GP trained with the steering term."""
        return list(self.gans.values())[1].model


def experiment1(Q: profiles.Profile, C: Classifiers, seed: int, dev: torch.device) -> Experiment1:
    """Pre-train a plain WGAN-GP, then continue it ``Q.steer_epochs`` epochs without and with steering towards
    ``Q.steer_class``.

    Both runs start from the same generator and train equally long, so the steering term is the only difference
    between them; the classifier labels the same monitor samples after every epoch of both.
    """
    M = model_configs(Q, C.data, seed)
    pretrained, configs = M.pretrained, M.continuations
    pre = models(Q, [pretrained], dev)[0]
    gans = dict(zip(configs, models(Q, list(configs.values()), dev)))
    share = {name: [h["share_assigned"] for h in g.record["history"]] for name, g in gans.items()}
    pre_share = [h["share_assigned"] for h in pre.record["history"]]
    return Experiment1(configs, gans, share, C.classes[Q.steer_class], Q.steer_class, pretrained, pre_share)


def exp1_grids(X: Experiment1, n_epochs: int, per_epoch: int = 6) -> dict[str, tuple[torch.Tensor, list[int]]]:
    """Per run: (per_epoch, n_epochs) monitor images the classifier assigned to the steered class, as an
    (per_epoch * n_epochs, C, H, W) tensor in row-major order (one column per epoch), and the epochs (0-based).

    Columns with fewer than ``per_epoch`` assigned images are padded with black.  Epochs count from the start of
    pre-training: a run that continues ``X.pretrained`` starts where it ended.
    """
    out = {}
    start = len(X.pretrain_share)
    for name, cfg in X.configs.items():
        snaps = snapshots(cfg, X.gans[name].record["compute"])
        epochs = sorted(snaps)[-n_epochs:]
        cols = []
        for e in epochs:
            imgs, pred = snaps[e]
            chosen = imgs[pred == X.steer_class][:per_epoch]
            pad = torch.full((per_epoch - len(chosen), *imgs.shape[1:]), -1.0)
            cols.append(torch.cat([chosen, pad]))
        out[name] = (torch.stack(cols, 1).flatten(0, 1), [start + e for e in epochs])
    return out


@dataclass
class Experiment2:
    vae: Any
    results: list  # (a, b, FrontierResult, endpoint info)
    strips: list  # (a, b, images (paths, steps, C, H, W), t, p(A))
    table: pd.DataFrame


def experiment2(Q: profiles.Profile, C: Classifiers, seed: int, dev: torch.device) -> Experiment2:
    """Bisect latent paths of a VAE between class-A and class-B images to the frontier |p(A) - 0.5| <= 0.02."""
    vae = models(Q, [model_configs(Q, C.data, seed).vae], dev)[0].model
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


def real_sample(C: Classifiers, n: int, seed: int, halves: int = 1) -> list[torch.Tensor]:
    """``halves`` disjoint, seeded, class-balanced samples of ``n`` real test images each (indices).

    Balanced by :func:`genxai.data.balanced_indices` rather than "the first n" of the split: our trains are
    interleaved by the renderer, but no split is assumed unsorted.
    """
    k = C.test.n_classes
    per = -(-n // k)
    idx = balanced_indices(C.test.labels, halves * per, seed)
    return [idx[h * per * k : (h + 1) * per * k][:n] for h in range(halves)]


@dataclass
class Realism:
    fid: dict[str, float]
    final_share: dict[str, float]
    table: pd.DataFrame
    fakes: dict[str, torch.Tensor] = field(default_factory=dict)
    real: torch.Tensor | None = None  # the class-balanced real sample the distances are measured against


def realism(
    Q: profiles.Profile, C: Classifiers, X1: Experiment1, X2: Experiment2, seed: int, dev: torch.device
) -> Realism:
    """Frechet distance of each generator's samples to real test images, in the classifier's features, and the
    share of the final samples assigned to the steered class."""
    test, clf, vae = C.test, C.model, X2.vae
    first, second = real_sample(C, Q.n_eval, seed, halves=2)
    real = test.images[first]
    fakes = {name: sample(g.model.generator, Q.n_eval, seed=seed)[0].cpu() for name, g in X1.gans.items()}
    with torch.no_grad():
        z = torch.randn(Q.n_eval, vae.z_dim, generator=torch.Generator().manual_seed(seed))
        fakes["VAE samples"] = vae.decode(z.to(dev)).cpu()
    fid = {name: feature_fid(clf, real, x) for name, x in fakes.items()}
    fid["real vs real (other half)"] = feature_fid(clf, real, test.images[second])
    final_share = {
        name: float((clf(x.to(dev)).argmax(1) == Q.steer_class).float().mean())
        for name, x in fakes.items()
        if name != "VAE samples"
    }
    table = pd.DataFrame(
        [{"samples": k, "feature_fid": v, f"share '{X1.target}'": final_share.get(k)} for k, v in fid.items()]
    )
    return Realism(fid, final_share, table, fakes, real)


#: The independent judge of each data set (:func:`genxai.models.judges.standard_judge`).
JUDGE_DATASET = {"fashion": "fashion_mnist", "trains": "trains"}


@dataclass
class JudgeCheck:
    """The independent judge's reading of the generated images, beside the trained-against classifier's."""

    share: dict[str, float]  # share the judge assigns to the steered class, per WGAN-GP run
    fd: dict[str, dict[str, float]]  # per sample set: judge Frechet distance, its real-vs-real floor, n
    frontier_p: list[torch.Tensor]  # per class pair: the judge's p(A) on the frontier images
    table: pd.DataFrame
    frontier_table: pd.DataFrame

    @property
    def frontier_mean_abs_p_minus_half(self) -> float:
        return float(torch.cat([(p - 0.5).abs() for p in self.frontier_p]).mean())


def judge_check(
    Q: profiles.Profile,
    profile: str,
    C: Classifiers,
    X1: Experiment1,
    X2: Experiment2,
    R: Realism,
    seed: int,
    dev: torch.device,
) -> JudgeCheck:
    """Experiment 1's samples and Experiment 2's frontier images read by the independent judge.

    * share assigned to the steered class, by the judge, beside our classifier's (:attr:`Realism.final_share`);
    * realism (:func:`genxai.metrics.realism.realism`): Frechet distance in the judge's features of ``Q.n_realism``
      samples to held-out real test images of the class they claim (the steered class for the steered run; the
      judge's own reading for the unsteered run and the VAE, which claim no class), beside real vs real at the
      same n;
    * the judge's p(A) on the frontier images the bisection found with our classifier.
    """
    overrides = {}
    if C.data == "trains":
        # the profile's judge reads one task at one size; where this profile's classifier reads another (the paper
        # profile's TypeA at 152 px), the judge is trained for the classifier's task instead
        kw = judge_config("trains", profile).data_kwargs
        if (kw["task"], kw["img_size"]) != (Q.task, Q.img_size):
            overrides["data_kwargs"] = {**kw, "task": Q.task, "img_size": Q.img_size}
    judge = standard_judge(JUDGE_DATASET[C.data], profile, device=dev, **overrides).model
    names = list(X1.gans)
    share = {name: judge_agreement(judge, R.fakes[name], X1.steer_class) for name in names}
    test = C.test
    fd = {}
    for name, x in R.fakes.items():
        claimed = X1.steer_class if name == names[1] else predict_logits(judge, x).argmax(1)
        fd[name] = realism_score(judge, x, claimed, test.images, test.labels, n=Q.n_realism, seed=seed)
    frontier_p = [predict_logits(judge, r.images.cpu()).softmax(1)[:, a] for a, _, r, _ in X2.results]
    table = pd.DataFrame(
        [
            {
                "samples": name,
                f"classifier share '{X1.target}'": R.final_share.get(name),
                f"judge share '{X1.target}'": share.get(name),
                "claimed class": X1.target if name == names[1] else "judge's reading",
                "judge_fd": v["fd"],
                "judge_fd_real_vs_real": v["floor"],
                "n": v["n"],
            }
            for name, v in fd.items()
        ]
    )
    classes = C.classes
    frontier_table = pd.DataFrame(
        [
            {
                "A": classes[a],
                "B": classes[b],
                "classifier_mean_abs_p_minus_half": float((r.p - 0.5).abs().mean()),
                "judge_mean_abs_p_minus_half": float((p - 0.5).abs().mean()),
                "judge_mean_p_A": float(p.mean()),
                "judge_says_A_or_B": float(
                    torch.isin(predict_logits(judge, r.images.cpu()).argmax(1), torch.tensor([a, b])).float().mean()
                ),
            }
            for (a, b, r, _), p in zip(X2.results, frontier_p)
        ]
    )
    return JudgeCheck(share, fd, frontier_p, table, frontier_table)


def fools_classifier(classifier_share: float, judge_share: float, scale: float = 0.9) -> bool:
    """Whether the judge assigns the steered class to fewer than ``scale`` times the classifier's share: the
    steered generator then convinces the classifier it was trained against more than an independent one."""
    return judge_share < scale * classifier_share


@dataclass
class DetectorCheck:
    """What the objective train detector (:mod:`genxai.trains.detector`) reads in real and generated trains."""

    held_out: dict[str, float]  # the detector's accuracy on held-out renders of its own kind
    real_accuracy: dict[str, float]  # its wagon-count accuracy on the real test sample (renderer's ground truth)
    locomotive_share: dict[str, float]  # per sample set (and the real sample): share read as "locomotive present"
    wagons: dict[str, list[float]]  # per sample set: share of each wagon count 0..4
    tv: dict[str, float]  # per generated set: total variation to the wagon counts of its real reference
    reference: dict[str, str]  # per generated set: which real images it is compared with


def detector_check(
    Q: profiles.Profile, C: Classifiers, X1: Experiment1, R: Realism, seed: int, dev: torch.device
) -> DetectorCheck:
    """Locomotive share and wagon-count distribution of every sample set against real trains, read by the detector.

    The steered WGAN-GP claims the steered class, so its reference is real test trains of that class (as many as
    the real sample, class-balanced draw); the unsteered WGAN-GP and the VAE claim the data set, so theirs is the
    class-balanced real sample of :func:`realism`.  Both sides are read by the same detector.
    """
    det_model = models(Q, [model_configs(Q, C.data, seed).detector], dev)[0]
    det = det_model.model
    first = real_sample(C, Q.n_eval, seed)[0]
    of_class = torch.nonzero(C.test.labels == X1.steer_class).flatten()
    of_class = of_class[torch.randperm(len(of_class), generator=torch.Generator().manual_seed(seed))[: Q.n_eval]]
    real_sets = {"real": first, f"real '{X1.target}'": of_class}
    loco, wagons, counts = {}, {}, {}
    for name, idx in real_sets.items():
        p, n_wagons = det.detect(C.test.images[idx])
        loco[name], counts[name] = float((p > 0.5).float().mean()), n_wagons
    for name, x in R.fakes.items():
        p, n_wagons = det.detect(x)
        loco[name], counts[name] = float((p > 0.5).float().mean()), n_wagons
    wagons = {name: wagon_distribution(c).tolist() for name, c in counts.items()}
    steered = list(X1.gans)[1]
    reference = {name: f"real '{X1.target}'" if name == steered else "real" for name in R.fakes}
    tv = {
        name: total_variation(wagon_distribution(counts[name]), wagon_distribution(counts[ref]))
        for name, ref in reference.items()
    }
    truth = torch.tensor(C.test.extra["table"]["NumberOfWagons"].to_numpy(), dtype=torch.long)
    real_accuracy = {name: float((counts[name] == truth[idx]).float().mean()) for name, idx in real_sets.items()}
    return DetectorCheck(det_model.metrics, real_accuracy, loco, wagons, tv, reference)


def detector_table(D: DetectorCheck) -> pd.DataFrame:
    """One row per sample set: locomotive share, wagon-count shares and the total variation to its reference."""
    return pd.DataFrame(
        [
            {
                "samples": name,
                "locomotive_share": D.locomotive_share[name],
                **{f"wagons_{k}": v for k, v in enumerate(D.wagons[name])},
                "wagon_count_tv": D.tv.get(name),
                "compared_with": D.reference.get(name, ""),
            }
            for name in D.locomotive_share
        ]
    )


def metrics(
    C: Classifiers,
    X1: Experiment1,
    X2: Experiment2,
    R: Realism,
    subgroups: pd.DataFrame | None = None,
    J: JudgeCheck | None = None,
    D: DetectorCheck | None = None,
) -> dict[str, Any]:
    """The data set's ``metrics.json`` entry (written under the data set's name)."""
    names = list(X1.gans)
    out = {
        "classifier_test_acc": C.accuracy,
        "steer_class": X1.target,
        "share_assigned": {
            "without_steering": R.final_share[names[0]],
            "with_steering": R.final_share[names[1]],
            "per_epoch": X1.share,  # the continuations' epochs
            "pre_training_per_epoch": X1.pretrain_share,
        },
        "frontier": {
            "hit_rate": float(torch.cat([r.hit for _, _, r, _ in X2.results]).float().mean()),
            "mean_abs_p_minus_half": float(torch.cat([(r.p - 0.5).abs() for _, _, r, _ in X2.results]).mean()),
            "pairs": X2.table.to_dict("records"),
        },
        "feature_fid": R.fid,
    }
    if J is not None:
        vae = "VAE samples"
        out["judge"] = {
            "share_assigned": {"without_steering": J.share[names[0]], "with_steering": J.share[names[1]]},
            "fd": {
                "with_steering": J.fd[names[1]]["fd"],
                "floor": J.fd[names[1]]["floor"],
                "n": J.fd[names[1]]["n"],
                "without_steering": J.fd[names[0]]["fd"],
                "without_steering_floor": J.fd[names[0]]["floor"],
                "vae": J.fd[vae]["fd"],
                "vae_floor": J.fd[vae]["floor"],
            },
            "fools_classifier": fools_classifier(R.final_share[names[1]], J.share[names[1]]),
        }
        out["frontier"]["judge_mean_abs_p_minus_half"] = J.frontier_mean_abs_p_minus_half
        out["frontier"]["judge_pairs"] = J.frontier_table.to_dict("records")
    if D is not None:
        steered = names[1]
        out["detector"] = {
            "held_out_accuracy": D.held_out,
            "real_wagon_accuracy": D.real_accuracy,
            "locomotive_share": {
                "generated": D.locomotive_share[steered],
                "without_steering": D.locomotive_share[names[0]],
                "vae": D.locomotive_share["VAE samples"],
                "real": D.locomotive_share["real"],
                "real_steered_class": D.locomotive_share[f"real '{X1.target}'"],
            },
            "wagon_count_tv": D.tv[steered],
            "wagon_count_tv_without_steering": D.tv[names[0]],
            "wagon_count_tv_vae": D.tv["VAE samples"],
            "wagon_distribution": D.wagons,
        }
    if subgroups is not None and len(subgroups):
        out["typea_subgroups"] = subgroups.to_dict("records")
    return out


def sample_train(size: int = 152, seed: int = 0, n_wagons: int = 3):
    """(image (3, size, size) in [-1, 1], attribute row, part boxes) of the first train of seed ``seed``'s renders
    with ``n_wagons`` wagons: the work's first figure shows one train at full size (XTRAINS: 152 px)."""
    from ..data.trains import render_trains

    for start in range(0, 400, 20):
        images, table, boxes = render_trains(20, size, seed=seed + start)
        hits = (table["NumberOfWagons"] == n_wagons).to_numpy().nonzero()[0]
        if len(hits):
            i = int(hits[0])
            parts = boxes[boxes.image == i]
            image = torch.from_numpy(images[i]).permute(2, 0, 1).float() / 127.5 - 1
            return image, table.iloc[i].to_dict(), list(parts[["part", "x0", "y0", "x1", "y1"]].itertuples(False))
    raise ValueError(f"no train with {n_wagons} wagons among 400 renders: the renderer draws 1-4 wagons")
