"""Seconds per training epoch (attack and optimiser steps, evaluation excluded)."""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch


def _sync(module: pl.LightningModule) -> None:
    if module.device.type == "cuda":
        torch.cuda.synchronize(module.device)


class EpochTimer(pl.Callback):
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
