"""Images in a run's own W&B run: reconstructions of fixed test images during training, and at the end the
ROC curve (a picture and an interactive chart) and the anomaly scores by class. Each is logged at the
training step of the epoch it shows, with that epoch (counted 1…N, as every metric of the run). Nothing
happens without a WandbLogger (logger=wandb)."""

from __future__ import annotations

import io

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger

from arae.errors import ConfigError
from arae.scoring import auroc, loader_scores, to_unit_interval


def _at(trainer: pl.Trainer, epoch: int) -> dict[str, int]:
    """Where a log call belongs: beside the metrics of the epoch it shows, with that epoch counted 1…N, at
    the step Lightning logs an epoch's metrics at (the x-axis the WandbLogger gives every metric,
    `trainer/global_step`): the step of the epoch's last batch, one before the optimiser steps taken."""
    return {"trainer/global_step": max(trainer.global_step - 1, 0), "epoch": epoch}


def _wandb_run(trainer: pl.Trainer):
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            return logger.experiment
    return None


def pick_images(loader, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `per_class` normal (label 0) and anomalous (label 1) images of an evaluation loader: the
    same images at every epoch, so a run's reconstructions can be compared over time."""
    normal, anomalous = [], []
    for x, y in loader:
        normal += list(x[y == 0][: per_class - len(normal)])
        anomalous += list(x[y == 1][: per_class - len(anomalous)])
        if len(normal) == per_class and len(anomalous) == per_class:
            break
    empty = torch.empty(0, *next(iter(loader))[0].shape[1:])
    return (torch.stack(normal) if normal else empty), (torch.stack(anomalous) if anomalous else empty)


def reconstruction_grid(net: torch.nn.Module, images: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Two rows per group of images: the inputs above their reconstructions, as one (H, W[, C]) image in [0, 1]."""
    from torchvision.utils import make_grid

    with torch.inference_mode():
        recon = net(images).reshape(-1, *shape)
    inputs = images.reshape(-1, *shape)
    grid = make_grid(torch.cat([inputs, recon]).float().clamp(0, 1), nrow=len(images), padding=2)
    return grid[0] if shape[0] == 1 else grid.permute(1, 2, 0)  # make_grid repeats a grey channel thrice


def as_uint8(image: torch.Tensor):
    """An image in [0, 1] as a uint8 array in [0, 255]: wandb.Image casts a float array to uint8 without
    scaling it, which would make every pixel 0 or 1 (black)."""
    return image.clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()


ROC_POINTS = 1000  # an interactive chart needs no more points than a figure shows


def roc_points(scores: torch.Tensor, labels: torch.Tensor) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) of the exact ROC curve, thinned to at most ROC_POINTS
    points that keep both ends."""
    from torchmetrics.functional.classification import binary_roc

    fpr, tpr, _ = binary_roc(to_unit_interval(scores), labels.long())  # raw scores would pass a sigmoid
    keep = torch.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).round().long().unique()
    return list(zip(fpr[keep].tolist(), tpr[keep].tolist()))


def _figure_image(fig):
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def roc_figure(scores: torch.Tensor, labels: torch.Tensor):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fpr, tpr = zip(*roc_points(scores, labels))
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(fpr, tpr, label=f"AUROC {float(auroc(scores, labels)):.3f}")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate (normal flagged)", ylabel="true positive rate (anomaly flagged)")
    ax.legend(loc="lower right")
    return fig


def score_histogram_figure(scores: torch.Tensor, labels: torch.Tensor):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    bins = torch.linspace(float(scores.min()), float(scores.max()), 51).numpy()
    for label, name in ((0, "normal"), (1, "anomalous")):
        ax.hist(scores[labels == label].numpy(), bins=bins, alpha=0.6, density=True, label=name)
    ax.set(xlabel="anomaly score (reconstruction error)", ylabel="density")
    ax.legend()
    return fig


class WandbMedia(pl.Callback):
    """With a W&B logger: `media/reconstructions` (inputs above reconstructions of `per_class` fixed normal
    and anomalous images of the evaluation split) every `every_n_epochs` epochs and after the last one;
    at the end `media/roc` and `media/score_histogram` on the evaluation split, the ROC curve as an
    interactive chart (`media/roc_curve`), and the scores by class as W&B histograms (`scores/normal`,
    `scores/anomalous`)."""

    def __init__(self, every_n_epochs: int, per_class: int) -> None:
        if int(every_n_epochs) < 1 or int(per_class) < 1:
            raise ConfigError(
                f"callbacks.wandb_media needs every_n_epochs >= 1 and per_class >= 1, got {every_n_epochs} and "
                f"{per_class}; set them in conf/train.yaml or on the command line"
            )
        self.every_n_epochs = int(every_n_epochs)
        self.per_class = int(per_class)
        self._run = None
        self._images: tuple[torch.Tensor, torch.Tensor] | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._run = _wandb_run(trainer) if trainer.is_global_zero else None
        if self._run is not None:
            self._images = pick_images(trainer.datamodule.eval_dataloader(), self.per_class)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if self._run is None or not (epoch % self.every_n_epochs == 0 or epoch == trainer.max_epochs):
            return
        import wandb

        shape = tuple(trainer.datamodule.image_shape)
        panels = {}
        for name, images in zip(("normal", "anomalous"), self._images):
            if len(images):
                grid = reconstruction_grid(pl_module.net, images.to(pl_module.device), shape)
                caption = f"epoch {epoch}: inputs above, reconstructions below"
                panels[f"media/reconstructions_{name}"] = wandb.Image(as_uint8(grid), caption=caption)
        self._run.log({**panels, **_at(trainer, epoch)})

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._run is None:
            return
        import wandb

        scores, labels = loader_scores(pl_module.net, trainer.datamodule.eval_dataloader())
        scores, labels = scores.float(), labels.long()
        auc = float(auroc(scores, labels))
        table = wandb.Table(columns=["false positive rate", "true positive rate"], data=roc_points(scores, labels))
        media = {
            "media/roc": wandb.Image(_figure_image(roc_figure(scores, labels))),
            "media/roc_curve": wandb.plot.line(
                table, "false positive rate", "true positive rate", title=f"ROC, anomaly positive (AUROC {auc:.3f})"
            ),
            "media/score_histogram": wandb.Image(_figure_image(score_histogram_figure(scores, labels))),
        }
        for label, name in ((0, "normal"), (1, "anomalous")):
            if (labels == label).any():
                media[f"scores/{name}"] = wandb.Histogram(scores[labels == label].numpy())
        self._run.log({**media, **_at(trainer, trainer.current_epoch)})  # after fit: the epochs trained
