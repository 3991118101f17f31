"""A resumed training equals an uninterrupted one, bit for bit."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genxai import repro
from genxai.train import Trainer


class Interrupt(Exception):
    pass


def _run(checkpoint, stop_after=None, epochs=3):
    repro.seed_everything(0, threads=1)
    x = torch.randn(64, 5)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    callbacks = []
    if stop_after is not None:

        def stop(epoch, metrics):
            if epoch + 1 == stop_after:
                raise Interrupt

        callbacks.append(stop)
    trainer = Trainer(model, {"sgd": opt}, epochs, seed=1, checkpoint=checkpoint, callbacks=callbacks, progress=False)

    def epoch_fn(epoch):
        order = torch.randperm(64, generator=trainer.epoch_generator(epoch))
        for i in range(0, 64, 16):
            idx = order[i : i + 16]
            loss = F.cross_entropy(model(x[idx]), y[idx]) + 0.0 * torch.randn(()).abs()  # uses global RNG
            opt.zero_grad()
            loss.backward()
            opt.step()
        return {"loss": float(loss.detach())}

    return model, trainer, trainer.fit(epoch_fn) if stop_after is None else _fit_until_interrupt(trainer, epoch_fn)


def _fit_until_interrupt(trainer, epoch_fn):
    with pytest.raises(Interrupt):
        trainer.fit(epoch_fn)
    return None


def test_resume_equals_uninterrupted(tmp_path):
    full_model, _, full_hist = _run(tmp_path / "full.pt")
    _run(tmp_path / "resumed.pt", stop_after=1)  # killed after epoch 1
    model, trainer, hist = _run(tmp_path / "resumed.pt")  # a new process would do the same
    assert trainer.resumed and trainer.start_epoch == 1
    assert hist == full_hist
    for (k, a), (_, b) in zip(full_model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), k


def test_checkpoint_loads_with_weights_only(tmp_path):
    _run(tmp_path / "c.pt", stop_after=2)
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert state["epoch_done"] == 2 and len(state["history"]) == 2
