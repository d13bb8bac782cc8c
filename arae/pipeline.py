"""One training job from a composed config: build everything with `instantiate`, fit, test, record."""

from __future__ import annotations

import logging
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from arae.detector import DetectorExport
from arae.errors import ConfigError, UserError
from arae.results import RESULTS_FILE, write_json_atomic
from arae.training import ARAELoss, ARAEModule, EpochTimer
from arae.validation import validate

log = logging.getLogger(__name__)

MATMUL_PRECISIONS = ("highest", "high", "medium")

# Data are in-memory tensors sliced per batch: worker processes would only add overhead.
warnings.filterwarnings("ignore", ".*does not have many workers.*")


def user_error(err: BaseException) -> UserError | None:
    """The UserError behind `err`, also when Hydra's instantiate wrapped it."""
    while err is not None:
        if isinstance(err, UserError):
            return err
        err = err.__cause__ or err.__context__
    return None


def _loggers(cfg: DictConfig) -> list:
    loggers = [instantiate(node) for node in (cfg.logger or {}).values() if node is not None]
    params = OmegaConf.to_container(cfg, resolve=True)
    for logger in loggers:
        logger.log_hyperparams(params)
    return loggers


def _finish_wandb(failed: bool) -> None:
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=1 if failed else 0)


def describe(cfg: DictConfig, datamodule) -> dict[str, Any]:
    return {
        "dataset": cfg.dataset.name,
        "normal_classes": list(datamodule.normal_classes),
        "attack": cfg.attack.name,
        "protocol": cfg.protocol.name,
        "seed": int(cfg.seed),
        "run_name": cfg.run_name,
    }


def detector_metadata(cfg: DictConfig, datamodule) -> dict[str, Any]:
    """What a checkpoint needs besides its weights to be used as a detector (see arae.detector)."""
    return {
        **describe(cfg, datamodule),
        "image_shape": list(datamodule.image_shape),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }


def set_threads(num_threads: int | None) -> None:
    if num_threads is None:
        return
    if int(num_threads) < 1:
        raise ConfigError(f"num_threads must be >= 1 or null (PyTorch's default), got {num_threads}")
    torch.set_num_threads(int(num_threads))


def build_module(cfg: DictConfig, datamodule) -> ARAEModule:
    """The LightningModule of a composed config (also used by benchmarks/)."""
    return ARAEModule(
        net=instantiate(cfg.model, image_shape=datamodule.image_shape),
        attack=instantiate(cfg.attack.adversary),
        loss=ARAELoss(gamma=cfg.attack.gamma),
        optimizer=instantiate(cfg.optimizer),
        crafting=instantiate(cfg.crafting),
        last_k=cfg.last_k,
    )


def train(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    """Train and test one detector; return (and write) its results."""
    started = time.perf_counter()
    validate(cfg)
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    if cfg.matmul_precision not in MATMUL_PRECISIONS:
        raise ConfigError(f"matmul_precision must be one of {', '.join(MATMUL_PRECISIONS)}, got {cfg.matmul_precision!r}")
    torch.set_float32_matmul_precision(cfg.matmul_precision)
    set_threads(cfg.num_threads)

    source = instantiate(cfg.dataset.source)
    datamodule = instantiate(cfg.protocol, source=source, normal_class=cfg.normal_class, seed=cfg.seed)
    datamodule.setup("fit")  # data errors stop the run here, before any logger or trainer exists
    calibration = instantiate(cfg.detector)
    calibration_images = calibration.hold_out(datamodule, seed=int(cfg.seed))
    module = build_module(cfg, datamodule)
    timer = EpochTimer()
    export = DetectorExport(calibration, calibration_images, detector_metadata(cfg, datamodule))
    callbacks = [timer, export, *(instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None)]
    trainer: pl.Trainer = instantiate(
        cfg.trainer, logger=_loggers(cfg) or False, callbacks=callbacks, default_root_dir=str(output_dir)
    )
    trainer.fit(module, datamodule=datamodule)
    test_metrics = trainer.test(module, datamodule=datamodule, verbose=False)[0]

    epochs = len(timer.seconds)
    summary = module.auroc_summary()
    results = {
        "status": "completed",
        **describe(cfg, datamodule),
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        "n_train": len(datamodule.train_images),
        "n_test": len(datamodule.test_labels),
        **getattr(datamodule, "report", dict)(),  # split sizes and data notes, where the protocol gives them
        "test": {k.removeprefix("test/"): float(v) for k, v in test_metrics.items()},
        f"auroc_last_{cfg.last_k}": summary,
        "val_auroc_history": module.val_auroc_history,
        "detector": calibration.threshold(module.net, calibration_images),
        "seconds_per_epoch": sum(timer.seconds) / epochs if epochs else None,
        "epoch_seconds": timer.seconds,
        "wall_seconds": time.perf_counter() - started,
        "output_dir": str(output_dir),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    for logger in trainer.loggers:
        logger.log_metrics({f"final/auroc_last_{cfg.last_k}_{k}": v for k, v in summary.items()})
    write_json_atomic(output_dir / RESULTS_FILE, results)
    return results


def run_job(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    """`train`, with every outcome recorded: a failed job writes a results.json holding its error."""
    failed = True
    try:
        results = train(cfg, output_dir)
        failed = False
        return results
    except BaseException as err:
        payload = {
            "status": "failed",
            "error": f"{type(err).__name__}: {err}",
            "user_error": user_error(err) is not None,
            "overrides": _overrides(),
            "traceback": traceback.format_exc(),
        }
        try:
            payload["run_name"] = cfg.run_name
        except Exception:  # the config itself may be what failed to resolve
            pass
        write_json_atomic(output_dir / RESULTS_FILE, payload)
        raise
    finally:
        _finish_wandb(failed)


def _overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except Exception:
        return []
