"""ScrabbleGAN under genxai.ddp: two gloo ranks split every length-bucketed batch, end with identical weights,
and the recogniser's CTC on real words falls."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from genxai.scrabblegan.train import ScrabbleGANConfig

CONFIG = {
    "n_train": 256,
    "z_dim": 16,
    "g_ch": 4,
    "d_ch": 4,
    "r_width": 4,
    "attention_at": 0,
    "epochs": 3,
    "steps_per_epoch": 8,
    "batch_size": 4,
    "lr": 1e-3,
}


def _rank(rank: int, world: int, init: str, cache_dir: str, out: str) -> None:
    from genxai import ddp

    os.environ["GENXAI_CACHE_DIR"] = cache_dir
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        model = ddp.train(ScrabbleGANConfig(**CONFIG), torch.device("cpu"), progress=False)
        torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_share_each_bucketed_batch_and_agree(tmp_path, monkeypatch):
    from genxai.data import DataMissingError, digit_strings

    try:
        digit_strings.load("train", n=CONFIG["n_train"])
    except DataMissingError as err:
        import pytest

        pytest.skip(str(err))
    mp.spawn(_rank, args=(2, str(tmp_path / "init"), str(tmp_path / "cache"), str(tmp_path)), nprocs=2)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    (sidecar,) = (tmp_path / "cache" / "models" / "scrabblegan").glob("*.json")
    record = json.loads(sidecar.read_text())
    assert record["provenance"]["ddp"] == {"world_size": 2, "backend": "gloo"}
    ctc = [h["ctc_real"] for h in record["history"]]
    assert ctc[-1] < ctc[0]  # R learns from the real words its rank holds


def test_each_rank_gets_its_half_of_a_bucketed_batch():
    from genxai.train import Trainer

    batch = torch.tensor([7, 3, 9, 1])
    halves = []
    for rank in (0, 1):
        trainer = Trainer(torch.nn.Linear(1, 1), {}, 1, progress=False)
        trainer.rank, trainer.world_size = rank, 2
        halves.append(trainer.shard(batch).tolist())
    assert halves == [[7, 9], [3, 1]]
