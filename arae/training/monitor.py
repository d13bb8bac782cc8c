"""The per-epoch AUROC the paper reports: when it is measured, how, and the history it builds."""

from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch
from torch import nn

from arae.errors import ConfigError
from arae.scoring import anomaly_metrics, evaluating, loader_scores
from arae.stats import mean_std

log = logging.getLogger(__name__)


class EvaluationSchedule:
    """Every epoch within the last `last_k` epochs of the run (all the last-K statistic needs), every
    `every_n_epochs` epochs before them. Epochs are counted from 1: epoch e is evaluated once e epochs
    have been trained."""

    def __init__(self, max_epochs: int, last_k: int, every_n_epochs: int) -> None:
        if int(every_n_epochs) < 1:
            raise ConfigError(f"eval_every_n_epochs must be >= 1 (1 evaluates every epoch), got {every_n_epochs}")
        self.max_epochs = int(max_epochs)
        self.last_k = int(last_k)
        self.every_n_epochs = int(every_n_epochs)

    def due(self, epoch: int) -> bool:
        return epoch > self.max_epochs - self.last_k or epoch % self.every_n_epochs == 0


class StalledLearning(pl.Callback):
    """Warns once when the model's reconstructions of a fixed batch of training images come out bit for bit
    the same for `patience` epochs in a row: its updates no longer change what it computes (e.g. every
    sigmoid saturated by a far too large optimizer.lr), so neither its loss nor its AUROC can move again.

    A flat loss is no such sign, and nothing here watches one: an MLP autoencoder first learns the mean
    image and sits near it for some epochs (MNIST: AUROC ~0.77, loss flat), but every step still changes
    its output. A warning rather than a stop: the run's record stays complete either way."""

    def __init__(self, patience: int = 2, probe: int = 64) -> None:
        self.patience = patience
        self.probe = probe
        self._last: torch.Tensor | None = None
        self._unchanged = 0
        self.warned = False

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.warned:
            return
        images = trainer.datamodule.train_set()[: self.probe]
        with evaluating(pl_module.net) as device:
            output = pl_module.net(images.to(device))
        self._unchanged = self._unchanged + 1 if self._last is not None and torch.equal(output, self._last) else 0
        self._last = output
        if self._unchanged >= self.patience:
            self.warned = True
            epoch = trainer.current_epoch + 1
            log.warning(
                "the model stopped learning: its output has not changed over the last %d epochs (to epoch %d), so "
                "its loss and AUROC cannot move any more; its units are likely saturated or dead after too large "
                "steps (optimizer.lr=%s): lower optimizer.lr and run again", self.patience, epoch, _learning_rate(trainer),
            )


def _learning_rate(trainer: pl.Trainer) -> str:
    groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
    return f"{groups[0]['lr']:g}" if groups else "?"


def evaluate(net: nn.Module, loader) -> dict[str, torch.Tensor]:
    """One forward pass over an evaluation split, then all metrics at once on the collected scores."""
    return anomaly_metrics(*loader_scores(net, loader))


class EpochEvaluation(pl.Callback):
    """After each scheduled training epoch, the AUROC (and FPR, F1) on the DataModule's evaluation split
    (`eval_dataloader`: the test split unless the protocol holds out a validation split), logged as `val/*`
    and kept with its epoch. The history travels in checkpoints, so a resumed run keeps it."""

    def __init__(self, schedule: EvaluationSchedule) -> None:
        self.schedule = schedule
        self.epochs: list[int] = []
        self.aurocs: list[float] = []
        self._loader = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._loader = trainer.datamodule.eval_dataloader()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """An epoch that is not evaluated shows no `val/*`: Lightning would keep showing the last evaluated
        epoch's values (on the bar, in the per-epoch line) as if they were this epoch's."""
        for metrics in (trainer.callback_metrics, trainer.progress_bar_metrics):
            for key in [k for k in metrics if k.startswith("val/")]:
                del metrics[key]

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if not self.schedule.due(epoch):
            return
        metrics = evaluate(pl_module.net, self._loader)
        pl_module.log_dict({f"val/{k}": v.float() for k, v in metrics.items()}, prog_bar=True)
        self.epochs.append(epoch)
        self.aurocs.append(float(metrics["auroc"]))

    def summary(self, last_epoch: int, k: int) -> dict[str, float | int]:
        """Mean and std of the AUROC over the evaluations within the last `k` epochs up to `last_epoch`
        (the paper's stability figure; `k` evaluations when the run went its full length)."""
        last = [a for e, a in zip(self.epochs, self.aurocs) if e > last_epoch - k]
        mean, std = mean_std(last)  # sample std (arae/stats.py); None (null) for fewer than two evaluations
        return {"k": len(last), "mean": float("nan") if mean is None else mean, "std": std}

    def state_dict(self) -> dict:
        return {"epochs": list(self.epochs), "aurocs": list(self.aurocs)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.epochs, self.aurocs = list(state_dict["epochs"]), list(state_dict["aurocs"])
