"""What the :class:`~genxai.train.Trainer` does in a ``torch.distributed`` process group (see :mod:`genxai.ddp`).

Kept apart from :mod:`genxai.ddp` (the ``torchrun`` entry point) and free of genxai imports: the Trainer imports
this module, so its source is part of every model's cache key, and nothing else should be.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def group() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


# The module genxai.ddp.train is training on all ranks.  Only a Trainer of this module (or of a container
# holding it) trains data-parallel: a model the fit needs and finds uncached (a classifier to explain)
# is trained by whichever rank gets its cache lock, alone, while the others wait for it and load it.
_target: nn.Module | None = None


def group_for(model: nn.Module) -> tuple[int, int]:
    """:func:`group` for a Trainer of the model :func:`training` names, (0, 1) for any other training."""
    if _target is not None and any(m is _target for m in model.modules()):
        return group()
    return 0, 1


@contextlib.contextmanager
def training(model: nn.Module) -> Iterator[None]:
    """While in this block, Trainers of ``model`` (or of a container holding it) train data-parallel."""
    global _target
    _target = model
    try:
        yield
    finally:
        _target = None


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
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
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
        values = torch.tensor([float(metrics[k]) for k in names], dtype=torch.float64, device=collective_device())
        dist.all_reduce(values)
        return {k: float(v) / self.world for k, v in zip(names, values.tolist())}

    def after_save(self) -> None:
        dist.barrier()  # no rank runs ahead of (or is killed before) rank 0's checkpoint of this epoch

    def close(self) -> None:
        for h in self.hooks:
            h.remove()


def collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
