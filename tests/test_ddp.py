"""genxai.ddp: two gloo ranks on CPU train one model through the Trainer, and resume exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from genxai import ddp
from genxai.models import ModelConfig, cache, get_or_train

STOP_AFTER = "GENXAI_TEST_STOP_AFTER_EPOCH"  # the toy fit is interrupted after this epoch's checkpoint


class Interrupted(RuntimeError):
    pass


def _data(n: int) -> torch.Tensor:
    return torch.randn(n, 5, generator=torch.Generator().manual_seed(123))


@dataclass
class TeacherConfig(ModelConfig):
    """The model ToyConfig's fit needs (as GANMEX needs its classifier): trained by one rank when missing."""

    family = "toy_teacher"
    n: int = 64

    def build(self) -> nn.Module:
        return nn.Linear(5, 2)

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from genxai.train import Trainer

        x = _data(self.n)
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        trainer = Trainer(model, {"sgd": opt}, 3, checkpoint=checkpoint, progress=False)

        def epoch_fn(epoch: int) -> dict[str, float]:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return {"loss": float(loss.detach()), "world": float(trainer.world_size)}

        return {"history": trainer.fit(epoch_fn)}


@dataclass
class ToyConfig(ModelConfig):
    """A small classifier trained through the Trainer, its batches sharded over the ranks, on labels
    from a teacher model that it trains (or loads) first."""

    family = "toy_ddp"
    epochs: int = 4
    n: int = 64
    batch_size: int = 16
    lr: float = 0.05
    seed: int = 0

    def build(self) -> nn.Module:
        return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))

    def fit(self, model: nn.Module, checkpoint: Path, device: torch.device, progress: bool = True) -> dict[str, Any]:
        from genxai.train import Trainer

        x = _data(self.n)
        teacher = get_or_train(TeacherConfig(self.n), device, progress=False).model
        with torch.no_grad():
            y = teacher(x).argmax(1)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)

        def interrupt(epoch: int, metrics: Any) -> None:
            if epoch + 1 == int(os.environ.get(STOP_AFTER, "0")):
                raise Interrupted(f"stopped after epoch {epoch + 1}")

        trainer = Trainer(
            model,
            {"adam": opt},
            self.epochs,
            seed=self.seed,
            checkpoint=checkpoint,
            callbacks=[interrupt],
            progress=False,
        )

        def epoch_fn(epoch: int) -> dict[str, float]:
            batches = torch.randperm(self.n, generator=trainer.epoch_generator(epoch)).view(-1, self.batch_size)
            batches = trainer.shard(batches, dim=1)
            total = 0.0
            for idx in batches:
                loss = F.cross_entropy(model(x[idx]), y[idx])  # Dropout: the rank's global RNG
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            return {"loss": total / len(batches), "rank_batch": float(batches.shape[1])}

        history = trainer.fit(epoch_fn)
        return {"metrics": {"loss": history[-1]["loss"]}, "history": history}


def _rank(rank: int, world: int, init: str, cache_dir: str, out: str, stop_after: int) -> None:
    os.environ["GENXAI_CACHE_DIR"] = cache_dir
    os.environ[STOP_AFTER] = str(stop_after)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        model = ddp.train(ToyConfig(), torch.device("cpu"), progress=False)
        torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _spawn(tmp: Path, name: str, cache_dir: Path, stop_after: int = 0) -> None:
    mp.spawn(_rank, args=(2, str(tmp / f"{name}.init"), str(cache_dir), str(tmp), stop_after), nprocs=2)


def _cached(cache_dir: Path, monkeypatch) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(cache_dir))
    weights, sidecar, partial = cache.cache_paths(ToyConfig(), "cpu-1")
    assert not partial.exists() and not weights.with_suffix(".lock").exists()
    return torch.load(weights, weights_only=True), json.loads(sidecar.read_text())


def test_two_gloo_ranks_train_identically_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    # uninterrupted, through the command line under torchrun
    env = {
        **os.environ,
        "GENXAI_CACHE_DIR": str(tmp_path / "whole"),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(Path(ddp.__file__).parents[1]), str(Path(__file__).parent)]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "genxai.ddp",
            "test_ddp:ToyConfig",
            "--backend",
            "gloo",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trained on 2 rank(s) (gloo)" in proc.stdout
    whole, record = _cached(tmp_path / "whole", monkeypatch)
    assert record["provenance"]["ddp"] == {"world_size": 2, "backend": "gloo"}
    losses = [h["loss"] for h in record["history"]]
    assert losses[-1] < 0.7 * losses[0]  # it learns
    assert {h["rank_batch"] for h in record["history"]} == {8.0}  # each rank got half of every batch of 16
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "whole"))
    teacher = json.loads(cache.cache_paths(TeacherConfig(), "cpu-1")[1].read_text())
    assert {h["world"] for h in teacher["history"]} == {1.0}  # the teacher trained on one rank alone

    # interrupted after epoch 2 (both ranks), then resumed from rank 0's checkpoint
    with pytest.raises(Exception, match="stopped after epoch 2"):
        _spawn(tmp_path, "first", tmp_path / "resumed", stop_after=2)
    monkeypatch.setenv("GENXAI_CACHE_DIR", str(tmp_path / "resumed"))
    weights, _, partial = cache.cache_paths(ToyConfig(), "cpu-1")
    assert not weights.exists() and torch.load(partial, weights_only=True)["epoch_done"] == 2
    _spawn(tmp_path, "second", tmp_path / "resumed")
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    resumed, resumed_record = _cached(tmp_path / "resumed", monkeypatch)
    for name in whole:
        assert torch.equal(rank0[name], rank1[name]), name  # the ranks agree
        assert torch.equal(rank0[name], resumed[name]), name  # rank 0 wrote what it holds
        assert torch.equal(resumed[name], whole[name]), name  # resumed == uninterrupted
    assert resumed_record["history"] == record["history"]


def test_a_batch_that_does_not_split_over_the_ranks_is_refused():
    from genxai.train import Trainer

    trainer = Trainer(nn.Linear(2, 2), {}, 1, progress=False)
    trainer.rank, trainer.world_size = 1, 2  # as in a group of two
    assert trainer.shard(torch.arange(8).view(2, 4), dim=1).tolist() == [[1, 3], [5, 7]]
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        trainer.shard(torch.arange(6).view(2, 3), dim=1)


def test_trainer_batches_give_each_rank_its_share_of_every_batch():
    from genxai.train import Trainer

    def batches(rank, world, n=11, batch_size=4):
        trainer = Trainer(nn.Linear(2, 2), {}, 1, seed=5, progress=False)
        trainer.rank, trainer.world_size = rank, world
        return trainer.batches(0, n, batch_size, drop_last=False)[1]

    whole, first, second = batches(0, 1), batches(0, 2), batches(1, 2)
    assert [len(b) for b in whole] == [4, 4, 3] and [len(b) for b in first] == [2, 2, 1] == [len(b) for b in second]
    for w, a, b in zip(whole, first, second):  # the ranks split each batch between them
        assert sorted(torch.cat([a, b]).tolist()) == sorted(w[: len(a) + len(b)].tolist())
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        batches(0, 2, batch_size=5)


def test_the_entry_point_explains_how_to_start_it(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match="start this with torchrun"):
        ddp.init_from_env("gloo")
    with pytest.raises(ValueError, match="unknown model 'scrabble'.*ganmex-bam"):
        ddp.resolve_config("scrabble", "paper", 0, [])
    assert type(ddp.resolve_config("stylex", "smoke", 2, [])).__name__ == "StylExConfig"
    config = ddp.resolve_config("ganmex-bam", "smoke", 3, ["steps=40"])
    assert type(config).__name__ == "GANMEXConfig" and config.steps == 40 and config.seed == 3
