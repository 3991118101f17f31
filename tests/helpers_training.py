"""Shared test helper: a training run killed after its first epoch, as a crash or Ctrl-C would leave it."""

from __future__ import annotations

import pytest

from genxai import train
from genxai.models import get_or_train


def kill_after_first_epoch(monkeypatch, cfg) -> None:
    """Train ``cfg`` until epoch 1 starts, then interrupt it (its partial checkpoint stays); Trainer.fit is restored."""
    original = train.Trainer.fit

    def killed_fit(self, epoch_fn):
        def dying(epoch):
            if epoch == 1:
                raise KeyboardInterrupt
            return epoch_fn(epoch)

        return original(self, dying)

    monkeypatch.setattr(train.Trainer, "fit", killed_fit)
    with pytest.raises(KeyboardInterrupt):
        get_or_train(cfg, progress=False)
    monkeypatch.setattr(train.Trainer, "fit", original)
