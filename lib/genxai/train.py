"""ONE training loop for every model family: epochs, progress bar, checkpoint and resume.

A family supplies ``epoch_fn(epoch) -> metrics``; the :class:`Trainer` owns everything
around it.  After each epoch it writes a checkpoint holding the module and optimiser
states, every random-number-generator state and the metric history, so a killed run
resumes exactly where it stopped: a resumed training equals an uninterrupted one
(tested in ``tests/test_train.py``).  Data order inside an epoch must come from
:meth:`Trainer.epoch_generator` (seeded by ``seed`` and the epoch number).

In an initialised ``torch.distributed`` process group (``torchrun``, :mod:`genxai.ddp`) the same
loop trains data-parallel: gradients averaged over the ranks, each rank's share of the data from
:meth:`Trainer.shard`, rank 0 writing the checkpoint.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import data_parallel
from .checkpoints import CorruptCheckpointError, load_state, save_state
from .repro import seed_everything, show_progress

EpochFn = Callable[[int], Mapping[str, float]]
Callback = Callable[[int, Mapping[str, float]], None]


def _rng_state() -> dict[str, Any]:
    """All RNG states as tensors and numbers, so ``torch.load(weights_only=True)`` reads them."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": py_gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    np.random.set_state(
        ("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"], npst["gauss"])
    )
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Runs ``epochs`` epochs of ``epoch_fn`` with checkpoint/resume and a progress bar.

    Args:
        model: the module(s) being trained (an ``nn.Module``; use a container for GANs).
        optimizers: name -> optimiser; their states are checkpointed too.
        epochs: total number of epochs.
        seed: base seed of the per-epoch data-order generators.
        checkpoint: file for the resumable state (``None``: no checkpointing).
        callbacks: ``cb(epoch, metrics)`` after each epoch (sample grids, early logs...).
        desc: progress-bar label.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizers: Mapping[str, torch.optim.Optimizer],
        epochs: int,
        seed: int = 0,
        checkpoint: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        desc: str = "train",
        schedulers: Mapping[str, Any] | None = None,
        progress: bool = True,
    ):
        if epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {epochs}")
        self.model = model
        self.optimizers = dict(optimizers)
        self.schedulers = dict(schedulers or {})
        self.epochs = epochs
        self.seed = seed
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.callbacks = list(callbacks)
        self.desc = desc
        self.progress = progress
        self.history: list[dict[str, float]] = []
        self.start_epoch = 0
        self.resumed = False
        self.rank, self.world_size = data_parallel.group_for(model)  # (0, 1) unless genxai.ddp trains this model
        self.elapsed_s = 0.0  # training time of the earlier parts of a resumed run, then of the whole run

    @classmethod
    def for_config(
        cls,
        config: Any,
        model: nn.Module,
        optimizers: Mapping[str, torch.optim.Optimizer],
        checkpoint: str | Path | None,
        desc: str,
        progress: bool = True,
        **kwargs: Any,
    ) -> Trainer:
        """The trainer of a model config: ``config.epochs`` epochs, data order seeded by ``config.seed``."""
        return cls(
            model,
            optimizers,
            config.epochs,
            seed=config.seed,
            checkpoint=checkpoint,
            desc=desc,
            progress=progress,
            **kwargs,
        )

    def batches(self, epoch: int, n: int, batch_size: int, drop_last: bool = True):
        """(generator, index batches) of ``epoch``: a seeded permutation of ``range(n)`` cut into batches.

        The generator goes on to drive the epoch's other random draws (latents, shifts).  ``drop_last`` keeps
        full batches only, for models with BatchNorm.  In a process group (:mod:`genxai.ddp`) each batch is
        this rank's share of it (:meth:`shard`), and a last partial batch is cut to a multiple of the number of
        processes (as torch's ``DistributedSampler`` does with ``drop_last``).
        """
        gen = self.epoch_generator(epoch)
        order = torch.randperm(n, generator=gen)
        stop = n - batch_size + 1 if drop_last else n
        batches = [order[i : i + batch_size] for i in range(0, stop, batch_size)]
        if self.world_size > 1:
            batches = [b[: len(b) - len(b) % self.world_size] if len(b) < batch_size else b for b in batches]
            batches = [self.shard(b) for b in batches if len(b)]
        return gen, batches

    def epoch_generator(self, epoch: int) -> torch.Generator:
        """A generator for data order in ``epoch``: identical whether resumed or not."""
        return torch.Generator().manual_seed(self.seed * 100_003 + epoch)

    def shard(self, draw: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """This rank's share of ``draw`` (the same on every rank, e.g. an order drawn from
        :meth:`epoch_generator`): every ``world_size``-th entry along ``dim`` from ``rank`` on.
        ``draw`` itself in a single process."""
        if self.world_size == 1:
            return draw
        if draw.shape[dim] % self.world_size:
            raise ValueError(
                f"{draw.shape[dim]} entries along dim {dim} do not split evenly over {self.world_size} "
                f"ranks: use a batch size that is a multiple of the number of processes"
            )
        keep = torch.arange(self.rank, draw.shape[dim], self.world_size, device=draw.device)
        return draw.index_select(dim, keep)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self, epoch_done: int) -> dict[str, Any]:
        return {
            "epoch_done": epoch_done,
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "history": self.history,
            "rng": _rng_state(),
            "elapsed_s": self.elapsed_s,
        }

    def save(self, epoch_done: int) -> None:
        if self.checkpoint is None or self.rank != 0:
            return
        save_state(self.state_dict(epoch_done), self.checkpoint)

    def try_resume(self) -> bool:
        if self.checkpoint is None:
            return False
        state = None
        if self.rank == 0 and self.checkpoint.exists():
            try:
                state = load_state(self.checkpoint)
            except CorruptCheckpointError:  # quarantined and named by load_state: train from the start
                state = None
        if self.world_size > 1:  # rank 0 reads the checkpoint; every rank resumes from it
            state = data_parallel.broadcast_object(state)
        if state is None:
            return False
        self.model.load_state_dict(state["model"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        self.history = list(state["history"])
        _set_rng_state(state["rng"])
        self.start_epoch = int(state["epoch_done"])
        self.elapsed_s = float(state.get("elapsed_s", 0.0))
        self.resumed = True
        return True

    # ------------------------------------------------------------------ loop
    def fit(self, epoch_fn: EpochFn) -> list[dict[str, float]]:
        self.try_resume()
        sync = data_parallel.TrainerSync(self) if self.world_size > 1 else None
        bar = tqdm(
            range(self.start_epoch, self.epochs),
            desc=self.desc,
            initial=self.start_epoch,
            total=self.epochs,
            disable=not show_progress(self.progress) or self.rank != 0,
            leave=False,
        )
        for epoch in bar:
            started = time.time()
            self.model.train()
            if sync:
                sync.begin_epoch(epoch)
            metrics = {k: float(v) for k, v in epoch_fn(epoch).items()}
            if sync:
                metrics = sync.end_epoch(metrics)
            metrics["epoch"] = epoch + 1
            for sched in self.schedulers.values():
                sched.step()
            self.history.append(metrics)
            self.elapsed_s += time.time() - started
            self.save(epoch + 1)
            if sync:
                sync.after_save()
            bar.set_postfix({k: round(v, 4) for k, v in metrics.items() if k != "epoch"})
            for cb in self.callbacks:
                cb(epoch, metrics)
        if sync:
            sync.close()
        self.model.eval()
        return self.history


def fit_config(
    config: Any, device: torch.device, checkpoint: Path, progress: bool = True, threads: int | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Build and train ``config``'s model from ``config.seed`` (resuming from ``checkpoint``).

    The caller's random states and thread count are restored afterwards, so training a model inside a notebook
    leaves the notebook's own random stream as it was.  ``threads``: the CPU thread count to train with.
    """
    saved = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    saved_threads = torch.get_num_threads()
    try:
        seed_everything(int(getattr(config, "seed", 0)), threads=threads)
        model = config.build().to(device)
        result = config.fit(model, checkpoint, device, progress=progress)
    finally:
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])
        torch.set_num_threads(saved_threads)
    return model, result
