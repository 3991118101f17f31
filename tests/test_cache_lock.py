"""Many processes, one model cache: each key is trained once, a killed trainer's lock is taken over."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genxai.models import ModelConfig, cache, get_or_train
from genxai.models.lock import KeyLock, LockTimeout, read_lock

HANG_AT = "GENXAI_TEST_HANG_AT_EPOCH"  # the toy fit hangs at this epoch (to be killed there)


@dataclass
class CountingConfig(ModelConfig):
    """A toy model whose every training start and epoch is appended to ``log``."""

    family = "counting"
    log: str = ""
    epochs: int = 3
    epoch_s: float = 0.3  # each epoch lasts at least this long, so the askers overlap
    seed: int = 0

    def build(self) -> nn.Module:
        return nn.Linear(4, 2)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from genxai.train import Trainer

        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        trainer = Trainer(model, {"sgd": opt}, self.epochs, seed=self.seed, checkpoint=checkpoint, progress=False)
        x = torch.randn(32, 4)  # global RNG: seeded by get_or_train
        y = (x[:, 0] > 0).long()
        with open(self.log, "a") as fh:
            fh.write(f"fit {os.getpid()}\n")

        def epoch_fn(epoch: int) -> dict[str, float]:
            if int(os.environ.get(HANG_AT, "-1")) == epoch:
                with open(self.log, "a") as fh:
                    fh.write(f"hang {os.getpid()} {epoch}\n")
                time.sleep(600)
            order = torch.randperm(32, generator=trainer.epoch_generator(epoch))
            loss = F.cross_entropy(model(x[order]), y[order]) + 0.01 * torch.randn(())
            opt.zero_grad()
            loss.backward()
            opt.step()
            time.sleep(self.epoch_s)
            with open(self.log, "a") as fh:
                fh.write(f"epoch {os.getpid()} {epoch}\n")
            return {"loss": float(loss.detach())}

        return {"metrics": {"loss": trainer.fit(epoch_fn)[-1]["loss"]}}


def _log(cfg: CountingConfig) -> list[list[str]]:
    return [line.split() for line in Path(cfg.log).read_text().splitlines()]


def _ask(cfg: CountingConfig, barrier, out: str) -> None:
    torch.set_num_threads(1)
    barrier.wait()  # all ask at the same moment
    model = get_or_train(cfg, progress=False)
    torch.save(model.model.state_dict(), out)


def _ask_and_hang(cfg: CountingConfig, epoch: int) -> None:
    os.environ[HANG_AT] = str(epoch)
    torch.set_num_threads(1)
    get_or_train(cfg, progress=False)


def _leftovers(cfg: CountingConfig) -> list[str]:
    folder = cache.cache_paths(cfg)[0].parent
    return sorted(
        p.name
        for p in folder.iterdir()
        if not p.name.endswith((".pt", ".json")) or p.name.startswith(".") or ".partial." in p.name
    )


def test_four_processes_train_an_uncached_model_once(tmp_genxai):
    cfg = CountingConfig(log=str(tmp_genxai / "fits.log"))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    outs = [str(tmp_genxai / f"weights{i}.pt") for i in range(4)]
    procs = [ctx.Process(target=_ask, args=(cfg, barrier, out)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    log = _log(cfg)
    assert [line[0] for line in log].count("fit") == 1, log  # trained exactly once
    assert [int(line[2]) for line in log if line[0] == "epoch"] == [0, 1, 2]
    states = [torch.load(out, weights_only=True) for out in outs]
    for state in states[1:]:
        assert state.keys() == states[0].keys()
        assert all(torch.equal(state[k], states[0][k]) for k in state)
    assert _leftovers(cfg) == []  # no lock, .tmp or .partial.pt


def test_a_killed_trainers_lock_is_taken_over_and_its_checkpoint_resumed(tmp_genxai, capsys):
    cfg = CountingConfig(log=str(tmp_genxai / "fits.log"), epoch_s=0.0)
    holder = multiprocessing.get_context("spawn").Process(target=_ask_and_hang, args=(cfg, 1))
    holder.start()
    try:
        deadline = time.time() + 60
        while not (Path(cfg.log).exists() and "hang" in Path(cfg.log).read_text()):
            assert time.time() < deadline and holder.is_alive(), "the holder never reached epoch 1"
            time.sleep(0.1)
        weights, _, partial = cache.cache_paths(cfg, "cpu-1")  # the holder trains with one thread
        lock = weights.with_suffix(".lock")
        assert read_lock(lock)["pid"] == holder.pid and partial.exists()  # it holds the lock, epoch 0 is saved
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join()
    # a kill during a checkpoint write leaves its temporary file behind; the taker-over removes it
    (weights.parent / f".{weights.stem}.partial.pt.dead1234.tmp").write_bytes(b"half")

    resumed = get_or_train(cfg, progress=False, threads=1)
    assert "took over the lock" in capsys.readouterr().err
    mine = [int(line[2]) for line in _log(cfg) if line[0] == "epoch" and int(line[1]) == os.getpid()]
    assert mine == [1, 2]  # continued after the saved epoch 0
    assert _leftovers(cfg) == []

    # the same as a training that was never interrupted
    os.environ["GENXAI_CACHE_DIR"] = str(tmp_genxai / "other-cache")  # restored by the fixture's monkeypatch
    fresh = get_or_train(cfg, progress=False, threads=1)
    for k, v in fresh.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def _lock_file(path: Path, host: str, pid: int, age_s: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "token": "t0"}))
    then = time.time() - age_s
    os.utime(path, (then, then))


def test_a_lock_of_a_dead_pid_on_this_host_is_taken_over_at_once(tmp_path):
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    path = tmp_path / "k.lock"
    _lock_file(path, socket.gethostname(), done.pid)
    messages: list[str] = []
    started = time.time()
    with KeyLock(path, report=messages.append) as lock:
        assert lock.took_over and read_lock(path)["pid"] == os.getpid()
    assert time.time() - started < 5 and not path.exists()
    assert "not running" in messages[0]


def test_a_foreign_lock_is_waited_for_until_its_heartbeat_is_stale(tmp_path):
    path = tmp_path / "k.lock"
    _lock_file(path, "some-other-host", 1)  # alive as far as we can tell: heartbeat fresh
    messages: list[str] = []
    with pytest.raises(LockTimeout, match="some-other-host.*delete"):
        KeyLock(path, timeout_s=0.6, poll_s=0.1, report=messages.append).acquire()
    assert messages and "waiting for" in messages[0] and "pid 1 on some-other-host" in messages[0]
    assert path.exists()  # a live holder's lock is left alone

    _lock_file(path, "some-other-host", 1, age_s=120)
    with KeyLock(path, heartbeat_s=1, stale_after_s=60, report=messages.append) as lock:
        assert lock.took_over
    assert "heartbeat is 120 s old" in messages[-1]


def test_the_holders_heartbeat_keeps_its_lock_fresh_and_nesting_is_allowed(tmp_path):
    path = tmp_path / "k.lock"
    with KeyLock(path, heartbeat_s=0.1, stale_after_s=1) as outer:
        os.utime(path, (time.time() - 100, time.time() - 100))
        time.sleep(0.4)
        assert time.time() - read_lock(path)["heartbeat"] < 1  # refreshed by the heartbeat
        with KeyLock(path):  # nested in the same process
            pass
        assert path.exists() and read_lock(path)["token"] == outer._token
    assert not path.exists()
    with pytest.raises(ValueError, match="must exceed"):
        KeyLock(path, heartbeat_s=10, stale_after_s=5)
