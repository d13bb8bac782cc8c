"""The anomaly score: reconstruction error of the clean input."""

from __future__ import annotations

import torch
from torch import nn


def anomaly_score(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sum over pixels of (x - Dec(Enc(x)))^2, one score per image; higher means more anomalous."""
    return (x - model(x)).pow(2).flatten(1).sum(1)
