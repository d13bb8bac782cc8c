"""The decision threshold, chosen on training-side normal images only (never on the test split)."""

from __future__ import annotations

import torch
from torch import nn

from arae.errors import ConfigError
from arae.scoring import quantile_threshold, scores_of


class ThresholdCalibration:
    """Where the threshold comes from and how strict it is.

    `normal_tpr`: the share of calibration normals that must pass as normal; the threshold is that quantile
    of their scores (score > threshold = anomaly). `holdout_fraction` = 0 calibrates on the training normals
    themselves (the protocol's training set is untouched; the threshold is optimistic, as the model has
    seen those images); > 0 keeps that share of the training normals out of training and calibrates on it.
    """

    def __init__(self, normal_tpr: float, holdout_fraction: float) -> None:
        if not 0.0 < float(normal_tpr) <= 1.0:
            raise ConfigError(f"detector.normal_tpr must be in (0, 1], got {normal_tpr}; e.g. detector.normal_tpr=0.95")
        if not 0.0 <= float(holdout_fraction) < 1.0:
            raise ConfigError(
                f"detector.holdout_fraction must be in [0, 1), got {holdout_fraction}; "
                "0 calibrates on the training normals, e.g. 0.1 holds out a tenth of them"
            )
        self.normal_tpr = float(normal_tpr)
        self.holdout_fraction = float(holdout_fraction)

    @property
    def source(self) -> str:
        return "held-out training normals" if self.holdout_fraction > 0 else "training normals"

    def hold_out(self, datamodule, seed: int) -> torch.Tensor:
        """The calibration images: the DataModule's calibration split (with a hold-out, it takes them out
        of its training set; see ProtocolDataModule.calibration_split)."""
        return datamodule.calibration_split(self.holdout_fraction, seed)

    def threshold(self, net: nn.Module, images: torch.Tensor, batch_size: int) -> dict:
        """The threshold from the scores of `images`, scored `batch_size` at a time (protocol.eval_batch_size)."""
        scores = scores_of(net, images, batch_size)
        return {
            "threshold": quantile_threshold(scores, self.normal_tpr),
            "normal_tpr": self.normal_tpr,
            "calibration": self.source,
            "n_calibration": len(scores),
            "holdout_fraction": self.holdout_fraction,
        }
