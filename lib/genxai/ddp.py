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
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

#: Longest a rank waits in a collective (e.g. while another rank trains a missing classifier).
TIMEOUT = datetime.timedelta(hours=2)


def group() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


# The module :func:`train` is training on all ranks.  Only a Trainer of this module (or of a container
# holding it) trains data-parallel: a model the fit needs and finds uncached (a classifier to explain)
# is trained by whichever rank gets its cache lock, alone, while the others wait for it and load it.
_target: nn.Module | None = None


def group_for(model: nn.Module) -> tuple[int, int]:
    """:func:`group` for a Trainer of :func:`train`'s model, (0, 1) for any other training."""
    if _target is not None and any(m is _target for m in model.modules()):
        return group()
    return 0, 1


def _marking_fit(config):
    """A copy of ``config`` whose ``fit`` marks the model it trains as :func:`train`'s target."""
    config = dataclasses.replace(config)
    fit = config.fit

    def fit_as_target(model, checkpoint, device, progress=True):
        global _target
        _target = model
        try:
            return fit(model, checkpoint, device, progress=progress)
        finally:
            _target = None
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
        raise RuntimeError(f"{', '.join(missing)} not set: start this with torchrun, e.g. "
                           "`torchrun --nproc-per-node 2 -m genxai.ddp ...`")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise RuntimeError(f"local rank {local} but {torch.cuda.device_count()} GPU(s): start at most one "
                               "process per GPU (--nproc-per-node), or use --backend gloo")
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, timeout=TIMEOUT)
    return device


# --------------------------------------------------------------------------- inside the Trainer
def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _average(tensors: Sequence[torch.Tensor], world: int) -> None:
    """Average equal-shaped tensors over the ranks in place: one flat all_reduce per dtype/device."""
    buckets: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}
    for t in tensors:
        buckets.setdefault((t.dtype, t.device), []).append(t)
    for same in buckets.values():
        flat = torch.cat([t.reshape(-1) for t in same])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for t in same:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


class TrainerSync:
    """What a :class:`~genxai.train.Trainer` does in a process group (see the module doc)."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.rank, self.world = group()
        with torch.no_grad():  # every rank starts from rank 0's weights, as DDP does
            for t in trainer.model.state_dict().values():
                dist.broadcast(t, src=0)
        self.hooks = [opt.register_step_pre_hook(self._average_gradients) for opt in trainer.optimizers.values()]

    def _average_gradients(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if any(g.is_sparse for g in grads):
            raise NotImplementedError("sparse gradients are not averaged over ranks")
        _average(grads, self.world)

    def begin_epoch(self, epoch: int) -> None:
        seed = int(np.random.SeedSequence([self.trainer.seed, epoch, self.rank]).generate_state(1)[0])
        torch.manual_seed(seed)  # CUDA generators too
        np.random.seed(seed)
        random.seed(seed)

    def end_epoch(self, metrics: Mapping[str, float]) -> dict[str, float]:
        with torch.no_grad():
            floating = [b for b in self.trainer.model.buffers() if b.is_floating_point()]
            if floating:
                _average(floating, self.world)
            for b in self.trainer.model.buffers():
                if not b.is_floating_point():
                    dist.broadcast(b, src=0)
        names = sorted(metrics)
        values = torch.tensor([float(metrics[k]) for k in names], dtype=torch.float64,
                              device=_collective_device())
        dist.all_reduce(values)
        return {k: float(v) / self.world for k, v in zip(names, values.tolist())}

    def after_save(self) -> None:
        dist.barrier()  # no rank runs ahead of (or is killed before) rank 0's checkpoint of this epoch

    def close(self) -> None:
        for h in self.hooks:
            h.remove()


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


# --------------------------------------------------------------------------- training a config
def train(config, device: torch.device, progress: bool = True, retrain: bool = False) -> nn.Module:
    """Train ``config`` on every rank of the initialised group; rank 0 writes the cache.

    All ranks return the trained module (identical on every rank).  When the model is cached
    already (and not ``retrain``), every rank loads it.
    """
    from .models.cache import cache_paths, get_or_train, is_cached
    from .models.lock import KeyLock
    from .repro import seed_everything, write_json
    rank, world = group()
    weights, sidecar, partial = cache_paths(config)
    # rank 0 holds the key's lock for the whole job, so no other process trains it meanwhile;
    # get_or_train's own acquire of it below nests
    lock = KeyLock(weights.with_suffix(".lock"), what=f"{config.family}/{weights.stem}") if rank == 0 else None
    if lock is not None:
        lock.acquire()
    try:
        cached = broadcast_object(bool(is_cached(config) and not retrain) if rank == 0 else None)
        if cached:
            return get_or_train(config, device=device).model
        target = _marking_fit(config)
        if rank == 0:
            trained = get_or_train(target, device=device, progress=progress, retrain=retrain)
            model = trained.model
            # the key has no process count (nor thread count): the record says how it was trained
            trained.record["provenance"]["ddp"] = {"world_size": world, "backend": dist.get_backend()}
            write_json(sidecar, trained.record)
        else:  # the same steps as get_or_train, without writing anything
            seed_everything(int(getattr(config, "seed", 0)), threads=None)
            model = config.build().to(device)
            target.fit(model, partial, device, progress=False)
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
                raise RuntimeError(f"after training, the ranks' {name!r} differ (max {diff.item():.3g}): the fit "
                                   f"of {type(model).__name__} does not train through genxai.train.Trainer, "
                                   f"so its gradients were not averaged over the {world} ranks")


# --------------------------------------------------------------------------- command line
def _ganmex_bam(profile: str, seed: int):
    from . import profiles
    from .ganmex import experiments
    return experiments.bam_like_configs(profiles.get("ganmex", profile), seed)[1]


#: The heavy models of the ``paper`` profile by name: function(profile, seed) -> ModelConfig.
MODELS: dict[str, Callable[[str, int], Any]] = {
    "ganmex-bam": _ganmex_bam,   # GANMEX generator of the BAM-like benchmark (notebooks/ganmex/02)
}


def resolve_config(target: str, profile: str, seed: int | None, settings: Sequence[str]):
    """A preset of :data:`MODELS`, or ``module:Class`` of a ModelConfig built from ``--set`` values."""
    from .models import ModelConfig
    from .run import config_overrides
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
            from .models.cache import cache_paths
            print(f"{type(config).__name__} trained on {world} rank(s) ({dist.get_backend()}): {cache_paths(config)[0]}")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    # run the imported genxai.ddp, not this __main__ copy: the Trainer reads genxai.ddp's state
    from genxai.ddp import main as _main
    sys.exit(_main())
