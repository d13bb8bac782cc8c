"""The LightningModule: it only orchestrates the inner maximisation (the attack) and the outer
minimisation (one optimiser step on the ARAE loss), and tests reconstruction-error scores. The per-epoch
evaluation is the EpochEvaluation callback's (arae/training/monitor.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn

from arae.attacks import Stream, default_stream
from arae.errors import TrainingDiverged
from arae.scoring import AnomalyMetrics, anomaly_score
from arae.training.build import module_from_hparams
from arae.training.losses import ARAELoss
from arae.training.step import optimisation_step


class ARAEModule(pl.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        attack,
        loss: ARAELoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        crafting,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = net
        self.attack = attack
        self.loss = loss
        self.optimizer_factory = optimizer
        self.crafting = crafting
        self.test_metrics = AnomalyMetrics()
        self._device_images: tuple[torch.Tensor, torch.Tensor] | None = None
        self._epoch_sums: dict = {}

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, strict: bool = True, **kwargs) -> ARAEModule:
        """Rebuild the module from the module config saved as hyperparameters (conf/module/, resolved),
        then load the weights. Lightning's default would pass the saved values to
        `__init__`, which takes built objects, not configs. Keyword arguments replace saved hyperparameters.
        The file is read as plain values and tensors only (`weights_only`), so a crafted one runs no code."""
        from arae.detector.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(checkpoint_path)
        module = module_from_hparams({**checkpoint["hyper_parameters"], **kwargs})
        module.load_state_dict(checkpoint["state_dict"], strict=strict)
        return module.to(map_location) if map_location is not None else module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.net.parameters())

    # -- training: inner maximisation, then outer minimisation ------------------------------------
    def _train_images(self) -> torch.Tensor:
        """The training set (the DataModule's `train_set()`, which the positions in the training batches
        index) on this module's device, copied there once rather than every epoch."""
        images = self.trainer.datamodule.train_set()
        if self._device_images is None or self._device_images[0] is not images:
            self._device_images = (images, images.to(self.device, non_blocking=True))
        return self._device_images[1]

    def on_train_epoch_start(self) -> None:
        self._epoch_sums = {}
        trainer = self.trainer
        partial = trainer.num_training_batches < len(trainer.train_dataloader)
        self.crafting.on_epoch_start(self.attack, self.net, self._train_images(), self.random_stream(), partial,
                                     self._crafting_progress)

    def random_stream(self) -> Stream:
        """The attack's random numbers: torch's default generator of this module's device (seeded by the
        run's seed; RandomStates saves and restores it with every checkpoint)."""
        return default_stream(self.device)

    def _crafting_progress(self, done: int, total: int) -> None:
        """Tell the callbacks that follow the attack of the training set (e.g. the progress bar)."""
        for callback in self.trainer.callbacks:
            if hasattr(callback, "on_crafting"):
                callback.on_crafting(self.trainer, done, total)

    def training_step(self, batch, batch_idx: int) -> None:
        x, index = batch
        terms = optimisation_step(self.net, self.optimizers(), self.crafting, self.attack, self.loss, x, index,
                                  self.random_stream(), backward=self.manual_backward)
        self._accumulate(terms, len(x))
        if batch_idx + 1 == self.trainer.num_training_batches:
            self._check_finite()

    def _accumulate(self, terms: dict[str, torch.Tensor], n: int) -> None:
        """Batch-size-weighted sums kept on the device: no logging call and no host sync per step."""
        for key, value in terms.items():
            self._epoch_sums[key] = self._epoch_sums.get(key, 0.0) + value.detach() * n
        self._epoch_sums["n"] = self._epoch_sums.get("n", 0) + n

    def epoch_losses(self) -> dict[str, float]:
        """The means of the loss terms over this epoch's steps so far (one host sync)."""
        sums = self._epoch_sums
        if not sums.get("n"):
            return {}
        return {k: float(v) / sums["n"] for k, v in sums.items() if k != "n"}

    def _check_finite(self) -> None:
        """Once per epoch, before anything evaluates or saves the weights: a nan or inf loss in any step
        makes its epoch sum non-finite (every term is a mean of squares, never negative)."""
        sums = self._epoch_sums
        if not torch.isfinite(sums["loss"]):
            means = ", ".join(f"train/{k}={float(v) / sums['n']:.4g}" for k, v in sums.items() if k != "n")
            raise TrainingDiverged(
                f"the training loss became nan or inf in epoch {self.current_epoch + 1} ({means}); the "
                "weights are no longer usable. Lower optimizer.lr (or attack.gamma, or the attack's step size) "
                "and run again"
            )

    def on_train_epoch_end(self) -> None:
        sums = self._epoch_sums
        if sums.get("n"):  # the same epoch means that log(on_epoch=True) would give, logged once
            self.log_dict({f"train/{k}": v / sums["n"] for k, v in sums.items() if k != "n"})
        # Epochs are counted 1…N, as in the paper, results.json and the console; without this key every
        # logger would get Lightning's own `epoch`, counted from 0 (metrics.csv, W&B).
        self.log("epoch", float(self.current_epoch + 1))

    # -- final test: reconstruction error of the clean input, anomaly = positive -----------------
    def test_step(self, batch, batch_idx: int) -> None:
        x, labels = batch
        self.test_metrics.update(anomaly_score(self.net, x), labels)

    def on_test_epoch_end(self) -> None:
        metrics = self.test_metrics.compute()
        self.test_metrics.reset()
        self.log_dict({f"test/{k}": v.float() for k, v in metrics.items()})
