"""The LightningModule: it only orchestrates the inner maximisation (the attack) and the outer
minimisation (one optimiser step on the ARAE loss), and evaluates reconstruction-error scores."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch import nn

from arae.metrics import AnomalyMetrics
from arae.scoring import anomaly_score
from arae.training.crafting import EpochCrafting
from arae.training.losses import ARAELoss


class ARAEModule(pl.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        attack,
        loss: ARAELoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        crafting=None,
        last_k: int = 50,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = net
        self.attack = attack
        self.loss = loss
        self.optimizer_factory = optimizer
        self.crafting = crafting if crafting is not None else EpochCrafting()
        self.last_k = int(last_k)
        self.val_metrics = AnomalyMetrics()
        self.test_metrics = AnomalyMetrics()
        self.val_auroc_history: list[float] = []
        self._device_images: tuple[torch.Tensor, torch.Tensor] | None = None
        self._epoch_sums: dict = {}

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, strict: bool = True, **kwargs) -> "ARAEModule":
        """Rebuild the parts (autoencoder, attack, loss, optimiser, crafting) from the config groups saved
        as hyperparameters, then load the weights. Lightning's default would pass the saved values to
        `__init__`, which takes built objects, not configs. Keyword arguments replace saved hyperparameters."""
        from arae.training.build import module_from_hparams  # it imports this module

        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        module = module_from_hparams({**checkpoint["hyper_parameters"], **kwargs})
        module.load_state_dict(checkpoint["state_dict"], strict=strict)
        return module.to(map_location) if map_location is not None else module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.net.parameters())

    # -- training: inner maximisation, then outer minimisation ------------------------------------
    def _train_images(self) -> torch.Tensor:
        """The training set on this module's device, copied there once rather than every epoch."""
        images = self.trainer.datamodule.train_images
        if self._device_images is None or self._device_images[0] is not images:
            self._device_images = (images, images.to(self.device, non_blocking=True))
        return self._device_images[1]

    def on_train_epoch_start(self) -> None:
        self._epoch_sums = {}
        trainer = self.trainer
        partial = trainer.num_training_batches < len(trainer.train_dataloader)
        self.crafting.on_epoch_start(self.attack, self.net, self._train_images(), partial, self._crafting_progress)

    def _crafting_progress(self, done: int, total: int) -> None:
        """Tell the callbacks that follow the attack of the training set (e.g. the progress bar)."""
        for callback in self.trainer.callbacks:
            if hasattr(callback, "on_crafting"):
                callback.on_crafting(self.trainer, done, total)

    def training_step(self, batch, batch_idx: int) -> None:
        x, index = batch
        x_adv = self.crafting.adversarial(self.attack, self.net, x, index)
        terms = self.loss(self.net, x, x_adv)
        optimizer = self.optimizers()
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(terms["loss"])
        optimizer.step()
        self._accumulate(terms, len(x))

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

    def on_train_epoch_end(self) -> None:
        sums = self._epoch_sums
        if sums.get("n"):  # the same epoch means that log(on_epoch=True) would give, logged once
            self.log_dict({f"train/{k}": v / sums["n"] for k, v in sums.items() if k != "n"})

    # -- evaluation: reconstruction error of the clean input, anomaly = positive ------------------
    def validation_step(self, batch, batch_idx: int) -> None:
        x, labels = batch
        self.val_metrics.update(anomaly_score(self.net, x), labels)

    def on_validation_epoch_end(self) -> None:
        metrics = self.val_metrics.compute()
        self.val_metrics.reset()
        self.log_dict({f"val/{k}": v.float() for k, v in metrics.items()}, prog_bar=True)
        if not self.trainer.sanity_checking:
            self.val_auroc_history.append(float(metrics["auroc"]))

    def test_step(self, batch, batch_idx: int) -> None:
        x, labels = batch
        self.test_metrics.update(anomaly_score(self.net, x), labels)

    def on_test_epoch_end(self) -> None:
        metrics = self.test_metrics.compute()
        self.test_metrics.reset()
        self.log_dict({f"test/{k}": v.float() for k, v in metrics.items()})

    def auroc_summary(self) -> dict[str, float | int]:
        """Mean and std of the per-epoch AUROC over the last K evaluations (the paper's stability figure)."""
        last = torch.tensor(self.val_auroc_history[-self.last_k :], dtype=torch.float64)
        if len(last) == 0:
            return {"k": 0, "mean": float("nan"), "std": float("nan")}
        return {"k": len(last), "mean": float(last.mean()), "std": float(last.std(unbiased=False))}
