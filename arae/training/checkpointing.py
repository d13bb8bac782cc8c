"""Checkpoints that a run can be resumed from: written atomically at epoch ends, every N epochs and at the
last one, holding what the next epoch depends on (weights, optimiser, loops, callbacks' state, the data
order and every random number generator)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Checkpoint
from pytorch_lightning.plugins.io import TorchCheckpointIO

from arae.errors import ConfigError
from arae.results import write_atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint to a temporary file beside its target, syncs it, then renames it over the target:
    a run killed while writing leaves the previous checkpoint whole."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        write_atomic(Path(path), lambda handle: torch.save(checkpoint, handle), readable=False)


class EpochCheckpoint(Checkpoint):
    """Saves `dirpath/filename.ckpt` after every `every_n_epochs`-th epoch and after the run's last epoch
    (also when the run stops early, e.g. on SIGTERM or a training-time budget), replacing the previous one.
    Runs after the other callbacks' epoch-end hooks, so the epoch's evaluation is in the checkpoint."""

    def __init__(self, dirpath: str, filename: str, every_n_epochs: int) -> None:
        if int(every_n_epochs) < 1:
            raise ConfigError(f"callbacks.checkpoint.every_n_epochs must be >= 1, got {every_n_epochs}")
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self.every_n_epochs = int(every_n_epochs)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every_n_epochs == 0 or epoch >= trainer.max_epochs or trainer.should_stop:
            trainer.save_checkpoint(self.path, weights_only=False)


def _cuda_states() -> list[torch.Tensor]:
    return torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []


class RandomStates(pl.Callback):
    """The global generators (Python, NumPy, torch, CUDA) as they stand at the end of the saved epoch, so
    the attack's random starts after a resume are those of an uninterrupted run."""

    def state_dict(self) -> dict[str, Any]:
        kind, keys, position, has_gauss, gauss = np.random.get_state()
        return {  # plain values and tensors only: checkpoints are read with torch.load(weights_only=True)
            "python": random.getstate(),
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
            "torch": torch.get_rng_state(),
            "cuda": _cuda_states(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        kind, keys, position, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
