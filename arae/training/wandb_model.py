"""The run's final checkpoint as a W&B model artifact, so that a run can be reloaded from W&B: only with
logger=wandb and `logger.wandb.log_model=true` (off by default: a checkpoint is uploaded with every run)."""

from __future__ import annotations

import logging

import pytorch_lightning as pl
from pytorch_lightning.loggers import WandbLogger

from arae.training.checkpointing import EpochCheckpoint

log = logging.getLogger(__name__)
ARTIFACT_FILE = "last.ckpt"  # arae.load_detector(<downloaded folder>) finds it by this name


def _logging_models(trainer: pl.Trainer) -> WandbLogger | None:
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and logger._log_model:  # WandbLogger(log_model=...) keeps no public copy
            return logger
    return None


class WandbModel(pl.Callback):
    """At the end of training, `checkpoints/last.ckpt` (weights and detector metadata) as the artifact
    `model-<run id>` of type `model`, alias `latest`. Lightning's own `log_model` only follows its
    ModelCheckpoint, which arae does not use (EpochCheckpoint)."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = _logging_models(trainer) if trainer.is_global_zero else None
        if logger is None:
            return
        checkpoint = next((c.path for c in trainer.checkpoint_callbacks if isinstance(c, EpochCheckpoint)), None)
        if checkpoint is None or not checkpoint.is_file():
            log.warning("logger.wandb.log_model is set but this run saves no checkpoint (callbacks.checkpoint): "
                        "no model artifact is logged")
            return
        import wandb

        run = logger.experiment
        artifact = wandb.Artifact(
            f"model-{run.id}", type="model", metadata={"run_name": run.name, "epochs": trainer.current_epoch}
        )
        artifact.add_file(str(checkpoint), name=ARTIFACT_FILE)
        run.log_artifact(artifact, aliases=["latest"])
