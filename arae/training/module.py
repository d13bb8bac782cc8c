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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.net.parameters())

    # -- training: inner maximisation, then outer minimisation ------------------------------------
    def on_train_epoch_start(self) -> None:
        images = self.trainer.datamodule.train_images.to(self.device, non_blocking=True)
        self.crafting.on_epoch_start(self.attack, self.net, images)

    def training_step(self, batch, batch_idx: int) -> None:
        x, index = batch
        x_adv = self.crafting.adversarial(self.attack, self.net, x, index)
        terms = self.loss(self.net, x, x_adv)
        optimizer = self.optimizers()
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(terms["loss"])
        optimizer.step()
        self.log_dict({f"train/{k}": v.detach() for k, v in terms.items()}, on_step=False, on_epoch=True)

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
