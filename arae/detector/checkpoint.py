"""What a checkpoint must hold to be used as a detector outside training, and how to read it back.

Every checkpoint Lightning writes gets an `arae_detector` entry: the resolved config, the model config,
the image shape and the decision threshold, computed with the weights being saved, so the threshold and
the weights always belong together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from arae.detector.calibration import ThresholdCalibration
from arae.errors import DataError

KEY = "arae_detector"
FORMAT = 1
NET_PREFIX = "net."


class DetectorExport(pl.Callback):
    """Adds the detector metadata (and a fresh threshold) to every checkpoint being saved."""

    def __init__(
        self, calibration: ThresholdCalibration, images: torch.Tensor, batch_size: int, metadata: dict[str, Any]
    ) -> None:
        self.calibration = calibration
        self.images = images
        self.batch_size = batch_size
        self.metadata = metadata

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[KEY] = {
            "format": FORMAT,
            **self.metadata,
            **self.calibration.threshold(pl_module.net, self.images, self.batch_size),
        }


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder holding checkpoints/last.ckpt."""
    path = Path(path)
    for candidate in (path, path / "checkpoints" / "last.ckpt", path / "last.ckpt"):
        if candidate.is_file():
            return candidate
    raise DataError(f"no checkpoint at {path}: give a .ckpt file or a run folder that holds checkpoints/last.ckpt")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint file's contents, read as plain values and tensors only (`weights_only`): a crafted file
    cannot run code. Every checkpoint arae writes reads so."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's own message suggests unsafe loading: never pass it on to a user
        raise DataError(
            f"cannot read {path}: it is not a checkpoint written by arae's train.py ({type(err).__name__}); give "
            "a run's checkpoints/last.ckpt or its run folder"
        ) from None


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], Path]:
    """(detector metadata, the net's state dict, the checkpoint file) of a training checkpoint."""
    path = find_checkpoint(path)
    checkpoint = load_checkpoint(path)
    if not isinstance(checkpoint, dict) or KEY not in checkpoint:
        raise DataError(
            f"{path} holds no detector metadata ('{KEY}'): it was not written by arae's train.py with the "
            "checkpoint callback on (or was saved weights-only); retrain it with this version"
        )
    meta = checkpoint[KEY]
    if meta.get("format") != FORMAT:
        raise DataError(f"{path} has detector format {meta.get('format')}, this version reads {FORMAT}; retrain it")
    state = {k[len(NET_PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(NET_PREFIX)}
    return meta, state, path
