"""Seconds per training epoch (attack and optimiser steps, evaluation excluded)."""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch

from arae.errors import ConfigError


def _sync(module: pl.LightningModule) -> None:
    if module.device.type == "cuda":
        torch.cuda.synchronize(module.device)


class EpochTimer(pl.Callback):
    """Its seconds travel in checkpoints, so a resumed run reports every epoch's time."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start: float | None = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        _sync(pl_module)
        self._start = time.perf_counter()

    def _stop(self, pl_module) -> None:
        if self._start is not None:
            _sync(pl_module)
            self.seconds.append(time.perf_counter() - self._start)
            self._start = None

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._stop(pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._stop(pl_module)

    def state_dict(self) -> dict:
        return {"seconds": list(self.seconds)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.seconds = list(state_dict["seconds"])


class TrainingBudget(EpochTimer):
    """Stops `fit` after the epoch in which the training time (attack and optimiser steps, evaluation
    excluded) reaches `seconds`: runs compared at equal compute rather than at equal epochs.

    Use: `python train.py +callbacks.budget._target_=arae.training.TrainingBudget +callbacks.budget.seconds=120`
    (with trainer.max_epochs high enough not to stop first).
    """

    def __init__(self, seconds: float) -> None:
        super().__init__()
        if not float(seconds) > 0:
            raise ConfigError(f"the training budget must be > 0 seconds, got {seconds}")
        self.budget = float(seconds)

    def _stop(self, pl_module) -> None:
        super()._stop(pl_module)
        if sum(self.seconds) >= self.budget:
            pl_module.trainer.should_stop = True
