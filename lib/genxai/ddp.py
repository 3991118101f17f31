"""Data-parallel training of one model over several processes (GPUs), started by ``torchrun``.

    torchrun --nproc-per-node 4 -m genxai.ddp ganmex-bam --profile paper --seed 0
    torchrun --nproc-per-node 2 -m genxai.ddp genxai.ganmex.gan:GANMEXConfig --set steps=4000 --backend gloo

Every rank builds the same model and runs the config's own ``fit``; the
:class:`~genxai.train.Trainer` sees the initialised process group and

* starts every rank from rank 0's parameters (and, on resume, from rank 0's checkpoint);
* averages the gradients over the ranks before every optimiser step (one ``all_reduce`` of the
  flattened gradients per step), so all ranks take the same step and stay identical;
* gives each rank its share of the epoch's data through :meth:`Trainer.shard` (the fit draws the
  epoch's batches from :meth:`Trainer.epoch_generator`, the same on every rank, and keeps every
  ``world_size``-th sample from ``rank`` on): the ranks' sub-batches make up the batch one process
  would use, and the averaged gradient is that batch's gradient;
* reseeds each rank's global random generators at every epoch from (seed, epoch, rank), so
  augmentations and noise differ between ranks and a resumed run equals an uninterrupted one;
* averages the epoch metrics and floating buffers (BatchNorm statistics) over the ranks; rank 0
  alone writes the checkpoint and, through :func:`~genxai.models.cache.get_or_train`, the cache.

Why gradients are averaged in the Trainer instead of by wrapping the modules in
``torch.nn.parallel.DistributedDataParallel``: the GAN losses of the heavy models differentiate
the critic with ``torch.autograd.grad`` (WGAN-GP's gradient penalty in GANMEX; StyleGAN's R1
penalty in StylEx), which ``DistributedDataParallel`` does not support, and a wrapper would have to
be threaded through every fit.  The collective is the same ``all_reduce`` of the gradients DDP
performs; what is not reproduced is DDP's overlap of communication with the backward pass.

Which fits gain: any fit that trains through the Trainer is *correct* on several ranks (unsharded,
every rank computes the same full-batch gradient: no speed-up, same result); it is *faster* when
its epoch function shards its batches with ``trainer.shard`` (GANMEX's generator does).  A fit that
does not use the Trainer is refused after training, when the ranks' weights differ.  Only the
model being trained runs data-parallel: a model its fit needs and finds uncached (GANMEX's
classifier) is trained by one rank alone while the others wait for its cache lock, then load it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .data_parallel import broadcast_object, group, training
from .data_parallel import collective_device as _collective_device

#: Longest a rank waits in a collective (e.g. while another rank trains a missing classifier).
TIMEOUT = datetime.timedelta(hours=2)


def _marking_fit(config):
    """A copy of ``config`` whose ``fit`` marks the model it trains as :func:`train`'s target."""
    config = dataclasses.replace(config)
    fit = config.fit

    def fit_as_target(model, checkpoint, device, progress=True):
        with training(model):
            return fit(model, checkpoint, device, progress=progress)

    # an instance attribute: the config's fields, and so its cache key, are unchanged
    object.__setattr__(config, "fit", fit_as_target)
    return config


def init_from_env(backend: str | None = None) -> torch.device:
    """Join the process group ``torchrun`` describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR...).

    ``backend``: ``nccl`` with one GPU per rank when CUDA is available, else ``gloo`` on CPU.
    Returns this rank's device.
    """
    missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not set: start this with torchrun, e.g. "
            "`torchrun --nproc-per-node 2 -m genxai.ddp ...`"
        )
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise RuntimeError(
                f"local rank {local} but {torch.cuda.device_count()} GPU(s): start at most one "
                "process per GPU (--nproc-per-node), or use --backend gloo"
            )
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, timeout=TIMEOUT)
    return device


# --------------------------------------------------------------------------- training a config
def train(config, device: torch.device, progress: bool = True, retrain: bool = False) -> nn.Module:
    """Train ``config`` on every rank of the initialised group; rank 0 writes the cache.

    All ranks return the trained module (identical on every rank).  When the model is cached
    already (and not ``retrain``), every rank loads it.
    """
    from .models.cache import cache_paths, compute_tag, get_or_train, is_cached
    from .models.lock import KeyLock
    from .repro import write_json
    from .train import fit_config

    rank, world = group()
    compute = compute_tag(device)  # rank 0's thread count on CPU, as get_or_train keys it
    weights, sidecar, partial = cache_paths(config, compute)
    # rank 0 holds the key's lock for the whole job, so no other process trains it meanwhile;
    # get_or_train's own acquire of it below nests
    lock = KeyLock(weights.with_suffix(".lock"), what=f"{config.family}/{weights.stem}") if rank == 0 else None
    if lock is not None:
        lock.acquire()
    try:
        cached = broadcast_object(bool(is_cached(config, compute) and not retrain) if rank == 0 else None)
        if cached:
            return get_or_train(config, device=device).model
        target = _marking_fit(config)
        if rank == 0:
            trained = get_or_train(target, device=device, progress=progress, retrain=retrain)
            model = trained.model
            # the key has no process count: the record says how it was trained
            trained.record["provenance"]["ddp"] = {"world_size": world, "backend": dist.get_backend()}
            write_json(sidecar, trained.record)
        else:  # the same steps as get_or_train, without writing anything
            model, _ = fit_config(target, device, partial, progress=False)
            model.eval()
    finally:
        if lock is not None:
            lock.release()
    check_identical(model)
    return model


def check_identical(model: nn.Module) -> None:
    """Raise unless every rank holds rank 0's weights (a fit that bypassed the Trainer's averaging)."""
    _, world = group()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            ref = t.detach().clone()
            dist.broadcast(ref, src=0)
            diff = torch.tensor([(t - ref).abs().max().item() if t.numel() else 0.0], device=_collective_device())
            dist.all_reduce(diff, op=dist.ReduceOp.MAX)
            if diff.item() > 0:
                raise RuntimeError(
                    f"after training, the ranks' {name!r} differ (max {diff.item():.3g}): the fit "
                    f"of {type(model).__name__} does not train through genxai.train.Trainer, "
                    f"so its gradients were not averaged over the {world} ranks"
                )


# --------------------------------------------------------------------------- command line
def _ganmex_bam(profile: str, seed: int):
    from . import profiles
    from .ganmex import experiments

    return experiments.bam_like_configs(profiles.get("ganmex", profile), seed)[1]


def _stylex(profile: str, seed: int):
    from .stylex.model import config_from_profile

    return config_from_profile(profile, seed=seed)


def _scrabblegan(profile: str, seed: int):
    from . import profiles
    from .scrabblegan.train import ScrabbleGANConfig

    return ScrabbleGANConfig(**profiles.get("scrabblegan", profile).gan, seed=seed)


#: The heavy models of the ``paper`` profile by name: function(profile, seed) -> ModelConfig.
MODELS: dict[str, Callable[[str, int], Any]] = {
    "ganmex-bam": _ganmex_bam,  # GANMEX generator of the BAM-like benchmark (notebooks/ganmex/02)
    "stylex": _stylex,  # the StylEx generator of the profile (notebooks/stylex)
    "scrabblegan": _scrabblegan,  # the ScrabbleGAN of the profile (notebooks/scrabblegan), batches sharded per rank
}


def resolve_config(target: str, profile: str, seed: int | None, settings: Sequence[str]):
    """A preset of :data:`MODELS`, or ``module:Class`` of a ModelConfig built from ``--set`` values."""
    from .models import ModelConfig
    from .runner import config_overrides

    if target in MODELS:
        config = MODELS[target](profile, 0 if seed is None else seed)
    elif ":" in target:
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
        if not (isinstance(cls, type) and issubclass(cls, ModelConfig)):
            raise TypeError(f"{target} is not a ModelConfig class")
        config = cls()
        if seed is not None:
            config = dataclasses.replace(config, seed=seed)
    else:
        raise ValueError(f"unknown model {target!r}: one of {sorted(MODELS)} or module:ConfigClass")
    return dataclasses.replace(config, **config_overrides(type(config), list(settings)))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="torchrun ... -m genxai.ddp", description=__doc__.split("\n")[0])
    ap.add_argument("model", help=f"one of {sorted(MODELS)}, or module:ConfigClass")
    ap.add_argument("--profile", default="paper", help="profile of a named model (smoke | cpu | paper)")
    ap.add_argument("--seed", type=int, help="the config's seed")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a config field")
    ap.add_argument("--backend", choices=("nccl", "gloo"), help="default: nccl with CUDA, else gloo")
    ap.add_argument("--retrain", action="store_true", help="train even when the model is cached")
    args = ap.parse_args(argv)
    try:
        config = resolve_config(args.model, args.profile, args.seed, args.set)
    except (ValueError, TypeError, ImportError, AttributeError) as err:
        ap.error(str(err))
    device = init_from_env(args.backend)
    rank, world = group()
    try:
        train(config, device, progress=rank == 0, retrain=args.retrain)
        if rank == 0:
            from .models.cache import cache_paths, compute_tag

            where = cache_paths(config, compute_tag(device))[0]
            print(f"{type(config).__name__} trained on {world} rank(s) ({dist.get_backend()}): {where}")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    # run the imported genxai.ddp, not this __main__ copy: the Trainer reads genxai.ddp's state
    from genxai.ddp import main as _main

    sys.exit(_main())
