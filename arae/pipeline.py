"""One training job from a composed config: build everything with `instantiate`, fit, test, record."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Checkpoint

from arae.detector import DetectorExport
from arae.errors import UserError
from arae.results import LAST_K, RESULTS_FILE, run_settings, write_json_atomic
from arae.resume import ResumePoint
from arae.training import ARAEModule, EpochTimer
from arae.training import build as training_build
from arae.training.checkpointing import AtomicCheckpointIO, RandomStates
from arae.training.console import quiet_lightning
from arae.training.interruption import Interrupted, StopAtEpochEnd, StopRequest
from arae.training.monitor import EpochEvaluation, EvaluationSchedule, StalledLearning
from arae.validation import check_single_device, check_threads, validate

log = logging.getLogger(__name__)



def user_error(err: BaseException) -> UserError | None:
    """The UserError behind `err`, also when Hydra's instantiate wrapped it."""
    while err is not None:
        if isinstance(err, UserError):
            return err
        err = err.__cause__ or err.__context__
    return None


def prepared_loggers(loggers: list, cfg: DictConfig, resume: ResumePoint | None) -> list:
    """`loggers` with the run's hyperparameters logged; a resumed run's continue their files where the
    checkpoint left them (a job's, and an ensemble member's: arae/ensemble/loggers.py)."""
    params = OmegaConf.to_container(cfg, resolve=True)
    for logger in loggers:
        if resume is not None and hasattr(logger, "continue_after"):
            logger.continue_after(resume.epoch)
        logger.log_hyperparams(params)
    return loggers


def _loggers(cfg: DictConfig, resume: ResumePoint | None) -> list:
    """The configured loggers of a job."""
    return prepared_loggers([instantiate(node) for node in (cfg.logger or {}).values() if node is not None], cfg, resume)


def describe(cfg: DictConfig, datamodule) -> dict[str, Any]:
    return {
        "dataset": cfg.dataset.name,
        "normal_classes": list(datamodule.normal_classes),
        "attack": cfg.attack.name,
        "protocol": cfg.protocol.name,
        "seed": int(cfg.seed),
        "run_name": cfg.run_name,
        "has_validation": datamodule.has_validation,
    }


def detector_metadata(cfg: DictConfig, datamodule) -> dict[str, Any]:
    """What a checkpoint needs besides its weights to be used as a detector (see arae.detector)."""
    return {
        **describe(cfg, datamodule),
        "image_shape": list(datamodule.image_shape),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }


def callback(node: DictConfig) -> pl.Callback:
    """A configured callback."""
    return instantiate(node)


def set_threads(num_threads: int | None) -> None:
    """null keeps PyTorch's default."""
    check_threads(num_threads)  # also for callers that skip `validate` (benchmarks/)
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))


def build_datamodule(cfg: DictConfig):
    """The DataModule of a composed config (its data source, protocol, normal classes and seed), set up for
    fitting: data errors stop a run here, before any logger or trainer exists (also used by benchmarks/)."""
    source = instantiate(cfg.dataset.source)
    datamodule = instantiate(cfg.protocol, source=source, normal_class=cfg.normal_class, seed=cfg.seed)
    datamodule.setup("fit")
    return datamodule


def build_module(cfg: DictConfig, datamodule) -> ARAEModule:
    """The LightningModule of a composed config (also used by benchmarks/)."""
    return training_build.build_module(cfg, datamodule.image_shape)


@dataclass
class JobParts:
    """What one job trains and evaluates, built from its config in a fixed order (the order in which the
    global random generator is drawn from: a separate job and an ensemble member build them alike)."""

    max_epochs: int
    datamodule: Any
    calibration: Any
    calibration_images: torch.Tensor
    module: ARAEModule
    evaluation: EpochEvaluation


def build_job(cfg: DictConfig) -> JobParts:
    """Every separate job and every ensemble member is built here, so its settings are checked here, once
    (arae.validation.validate), before anything is built."""
    validate(cfg)
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    max_epochs = int(cfg.trainer.max_epochs)
    torch.set_float32_matmul_precision(cfg.matmul_precision)
    set_threads(cfg.num_threads)
    evaluation = EpochEvaluation(EvaluationSchedule(max_epochs, cfg.last_k, cfg.eval_every_n_epochs))
    datamodule = build_datamodule(cfg)
    calibration = instantiate(cfg.detector)
    calibration_images = calibration.hold_out(datamodule, seed=int(cfg.seed))
    module = build_module(cfg, datamodule)
    return JobParts(max_epochs, datamodule, calibration, calibration_images, module, evaluation)


def results_record(
    cfg: DictConfig,
    parts: JobParts,
    *,
    net: torch.nn.Module,
    epochs: int,
    steps: int,
    test: dict[str, float],
    epoch_seconds: list[float],
    started: float,
    resume: ResumePoint | None,
    output_dir: Path,
) -> dict[str, Any]:
    """The results.json of a completed job (the same keys for a separate job and an ensemble member)."""
    datamodule, evaluation = parts.datamodule, parts.evaluation
    timed = len(epoch_seconds)
    config = OmegaConf.to_container(cfg, resolve=True)
    return {
        "status": "completed",
        **describe(cfg, datamodule),
        "epochs": epochs,
        "steps": steps,
        **datamodule.report(),  # n_train, n_test, split sizes and data notes
        "test": test,
        LAST_K: evaluation.summary(epochs, int(cfg.last_k)),
        "val_auroc_history": evaluation.aurocs,
        "val_auroc_epochs": evaluation.epochs,
        "detector": parts.calibration.threshold(net, parts.calibration_images, datamodule.eval_batch_size),
        "seconds_per_epoch": sum(epoch_seconds) / timed if timed else None,
        "epoch_seconds": list(epoch_seconds),
        "wall_seconds": time.perf_counter() - started,
        "resumed_from_epoch": resume.epoch if resume else None,
        "output_dir": str(output_dir),
        "settings": run_settings(config),
        "config": config,
    }


def ordered_callbacks(timer: EpochTimer, configured: list, evaluation, stop: StopRequest, export, stalled) -> list:
    """Epoch-end hooks run in this order: timers (also a TrainingBudget from the config) stop before the
    evaluation starts; the watch for a model that stopped learning follows it; the other configured callbacks
    (the per-epoch log line) see its metrics; the checkpoint callback runs last of all (Lightning puts it
    there)."""
    return [
        timer,
        *(c for c in configured if isinstance(c, EpochTimer)),
        evaluation,
        stalled,
        *(c for c in configured if not isinstance(c, EpochTimer)),
        StopAtEpochEnd(stop),
        RandomStates(),
        export,
    ]


def make_trainer(cfg: DictConfig, loggers: list, callbacks: list, output_dir: Path, checkpoint_io) -> pl.Trainer:
    """The Trainer of a job, or of an ensemble of jobs (arae/ensemble/), from `cfg.trainer`. Checkpoints are
    EpochCheckpoint's (callbacks.checkpoint): without it (callbacks.checkpoint=null) none is written, rather
    than Lightning's default checkpoint of every epoch.

    `trainer.deterministic` switches on torch's deterministic kernels, and with them, by default, a NaN fill
    of every fresh tensor from empty/clone (a debugging aid for code that reads memory it never wrote). No
    result depends on that fill, but it is a pass over each new tensor, K times larger in an ensemble's
    stacked batch, so it is switched off; the kernels stay deterministic."""
    torch.utils.deterministic.fill_uninitialized_memory = False
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        logger=loggers or False,
        callbacks=callbacks,
        default_root_dir=str(output_dir),
        plugins=[checkpoint_io],
        enable_checkpointing=any(isinstance(c, Checkpoint) for c in callbacks),
    )
    check_single_device(trainer)
    return trainer


def final_metrics(results: dict[str, Any]) -> dict[str, float]:
    """What the loggers get after the test: the last-K AUROC summary."""
    return {f"final/{LAST_K}_{k}": v for k, v in results[LAST_K].items() if v is not None}


def train(
    cfg: DictConfig, output_dir: Path, stop: StopRequest | None = None, resume: ResumePoint | None = None
) -> dict[str, Any]:
    """Train (or, given `resume`, continue training) and test one detector; return (and write) its results."""
    started = time.perf_counter()
    quiet_lightning()
    parts = build_job(cfg)
    module, datamodule, evaluation = parts.module, parts.datamodule, parts.evaluation
    timer = EpochTimer()
    export = DetectorExport(parts.calibration, parts.calibration_images, datamodule.eval_batch_size,
                            detector_metadata(cfg, datamodule))
    configured = [callback(c) for c in (cfg.callbacks or {}).values() if c is not None]
    callbacks = ordered_callbacks(timer, configured, evaluation, stop or StopRequest(), export, StalledLearning())
    trainer = make_trainer(cfg, _loggers(cfg, resume), callbacks, output_dir, AtomicCheckpointIO())
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume.path) if resume else None)
    if stop is not None and stop.requested:
        raise Interrupted(f"stopped by SIGTERM after epoch {trainer.current_epoch} of {parts.max_epochs}")
    test_metrics = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    results = results_record(
        cfg, parts, net=module.net, epochs=trainer.current_epoch, steps=trainer.global_step,
        test={k.removeprefix("test/"): float(v) for k, v in test_metrics.items()},
        epoch_seconds=timer.seconds, started=started, resume=resume, output_dir=output_dir,
    )
    for logger in trainer.loggers:  # the last row of metrics.csv: the run's last epoch and step, as the test row
        logger.log_metrics(final_metrics(results) | {"epoch": trainer.current_epoch}, step=trainer.global_step)
    write_json_atomic(output_dir / RESULTS_FILE, results)
    return results
