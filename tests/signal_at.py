"""A callback that sends this process a signal in the middle of a given epoch, as a user or a scheduler
would: `+callbacks.signal._target_=signal_at.SignalAt +callbacks.signal.name=SIGINT +callbacks.signal.epoch=3`."""

from __future__ import annotations

import os
import signal

import pytorch_lightning as pl


class SignalAt(pl.Callback):
    def __init__(self, name: str, epoch: int) -> None:
        self.signum = getattr(signal, name)
        self.epoch = int(epoch)  # counted from 1

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.current_epoch + 1 == self.epoch and batch_idx == 0:
            os.kill(os.getpid(), self.signum)


def send(name: str, epoch: int) -> list[str]:
    """The overrides that add the callback."""
    return ["+callbacks.signal._target_=signal_at.SignalAt", f"+callbacks.signal.name={name}",
            f"+callbacks.signal.epoch={epoch}"]
