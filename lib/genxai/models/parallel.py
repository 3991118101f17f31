"""``get_or_train_many(configs)``: train independent models side by side in worker processes.

Why: the small GANs of the ``cpu`` profile (batch 32, 28 px) cannot keep two cores busy —
per-step overheads (kernel launches, BatchNorm, Adam over the FC layers) do not split
across threads, so two one-thread processes side by side finish two such models sooner
than two threads one after the other.
Conv-heavy classifiers at batch 128 scale well with threads and gain little; use this
for several small models that do not depend on each other.

Every worker trains with ``default_threads() // workers`` threads (at least 1) through
:func:`~genxai.models.cache.get_or_train`, so the model lands in the same cache, under
the same key, with the thread count in its provenance record.  Training is deterministic
for a given thread count (tested: a worker's model equals one trained in-process with the
same count), and on CPU the count depends on ``workers`` only: a lone uncached model also
trains in a worker, so its weights do not depend on which notebook asked for it first —
train a family through this function everywhere it is trained.  On CUDA, or with one
worker, it trains one model after the other in this process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch
from tqdm.auto import tqdm

from ..repro import default_threads, resolve_device, show_progress
from .cache import CachedModel, ModelConfig, cache_key, compute_tag, get_or_train, is_cached


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _train_in_worker(config: ModelConfig, threads: int) -> str:
    return get_or_train(config, device="cpu", progress=False, threads=threads).path.stem


def get_or_train_many(
    configs: Sequence[ModelConfig],
    device: str | torch.device = "cpu",
    workers: int | None = None,
    progress: bool = True,
) -> list[CachedModel]:
    """The trained models of ``configs`` (in order), training the uncached ones in parallel.

    Args:
        configs: independent model configs (no config's ``fit`` may need another one of
            the list; a config that loads a cached model of its own, like an encoder on a
            trained generator, goes in a later call).
        device: where the returned models live; training runs in workers only on CPU.
        workers: processes to use (default: ``default_threads()``, i.e. ``GENXAI_THREADS``
            or all cores), capped by the number of models to train.
        progress: a bar over finished models (the workers themselves train silently).
    """
    if not all(isinstance(c, ModelConfig) for c in configs):
        bad = next(type(c).__name__ for c in configs if not isinstance(c, ModelConfig))
        raise TypeError(f"get_or_train_many needs ModelConfig objects, got a {bad}")
    dev = resolve_device(device) if isinstance(device, str) else device
    n_workers = workers if workers is not None else default_threads()
    if n_workers < 1:
        raise ValueError(f"workers must be >= 1, got {n_workers}")
    # the thread count follows from `workers` alone, not from how many models happen to be
    # uncached, so a config gets the same weights (and key) whichever notebook trains it first
    threads = max(1, default_threads() // n_workers)
    compute = compute_tag(dev, threads)
    todo = list({cache_key(c, compute): c for c in configs if not is_cached(c, compute)}.values())  # each once
    if dev.type == "cpu" and n_workers > 1 and todo:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
        with ProcessPoolExecutor(
            min(n_workers, len(todo)), mp_context=context, initializer=_init_worker, initargs=(threads,)
        ) as pool:
            futures = [pool.submit(_train_in_worker, c, threads) for c in todo]
            bar = tqdm(
                as_completed(futures),
                total=len(futures),
                disable=not show_progress(progress),
                desc=f"training {len(todo)} model(s) in processes of {threads} thread(s)",
            )
            for future in bar:
                future.result()  # re-raises a worker's exception here, with its traceback
    return [get_or_train(c, device=dev, progress=progress, threads=threads) for c in configs]
