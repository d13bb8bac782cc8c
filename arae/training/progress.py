"""What a run shows while it trains: a progress bar that also follows the attack of the training set
(most of an ARAE epoch with crafting=epoch) and the training loss, or, with the bar off (log files,
SLURM), one line per epoch."""

from __future__ import annotations

import logging
import math
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar

log = logging.getLogger("arae")


class ProgressBar(RichProgressBar):
    """Lightning's rich bar plus a `crafting` bar and the running mean of the epoch's training loss."""

    def __init__(self) -> None:
        super().__init__()
        self.crafting_bar_id = None

    def on_crafting(self, trainer: pl.Trainer, done: int, total: int) -> None:
        if self.progress is None or self.is_disabled:
            return
        description = f"crafting {trainer.current_epoch + 1}/{trainer.max_epochs}"
        if self.crafting_bar_id is None or self.crafting_bar_id not in self.progress.task_ids:
            self.crafting_bar_id = self._add_task(total, description)
        self.progress.update(self.crafting_bar_id, total=total, completed=done, description=description)
        self.refresh(hard=True)

    def _get_train_description(self, current_epoch: int) -> str:
        """"Epoch 1/10" for the first of ten epochs (Lightning's bar would say "Epoch 0/9")."""
        return f"Epoch {current_epoch + 1}/{self.trainer.max_epochs}"

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        losses = pl_module.epoch_losses() if trainer.training else {}
        if "loss" in losses:
            metrics["train/loss"] = losses["loss"]
        return metrics


class EpochLines(pl.Callback):
    """One log line per epoch: epoch, training losses, validation metrics, seconds (training and evaluation)."""

    def __init__(self) -> None:
        self._start = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
        member = getattr(pl_module, "run_name", None)  # an ensemble member's (arae/ensemble/callbacks.py)
        parts = [f"{member}: {epoch}" if member else epoch]
        parts += [f"{name} {value:.4g}" for name, value in pl_module.epoch_losses().items()]
        for key in ("val/auroc", "val/fpr@99.5tpr"):
            value = trainer.callback_metrics.get(key)
            if value is not None and not math.isnan(float(value)):
                parts.append(f"{key} {float(value):.4f}")
        parts.append(f"{time.perf_counter() - self._start:.1f} s")
        log.info("  ".join(parts))


def progress(bar: bool) -> pl.Callback:
    """The bar when the trainer shows one (`trainer.enable_progress_bar`), else the per-epoch lines."""
    return ProgressBar() if bar else EpochLines()
