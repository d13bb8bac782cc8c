"""Detection metrics on anomaly scores, the anomaly being the positive class (label 1).

torchmetrics squashes scores outside [0, 1] through a sigmoid, which saturates on reconstruction errors
(sums of squares of tens) and turns distinct scores into ties. Scores are therefore min-max scaled into
[0, 1] first: an order-preserving map that leaves AUROC, the ROC and the PR curve unchanged.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.functional.classification import (
    binary_auroc,
    binary_precision_recall_curve,
    binary_roc,
)
from torchmetrics.utilities import dim_zero_cat


def to_unit_interval(scores: torch.Tensor) -> torch.Tensor:
    scores = scores.double()
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else torch.zeros_like(scores)


def fpr_at_tpr(scores: torch.Tensor, labels: torch.Tensor, tpr: float = 0.995) -> torch.Tensor:
    """False positive rate at the first threshold whose true positive rate reaches `tpr`."""
    fpr_curve, tpr_curve, _ = binary_roc(to_unit_interval(scores), labels.long(), thresholds=None)
    reached = torch.nonzero(tpr_curve >= tpr - 1e-12)
    return fpr_curve[reached[0, 0]]


def best_f1(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The largest F1 over all thresholds (the paper's 'F1 at the threshold that maximises it')."""
    precision, recall, _ = binary_precision_recall_curve(to_unit_interval(scores), labels.long(), thresholds=None)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    return f1.max()


def anomaly_metrics(scores: torch.Tensor, labels: torch.Tensor, tpr: float = 0.995) -> dict[str, torch.Tensor]:
    labels = labels.long()
    return {
        "auroc": binary_auroc(to_unit_interval(scores), labels, thresholds=None),
        f"fpr@{100 * tpr:g}tpr": fpr_at_tpr(scores, labels, tpr),
        "f1": best_f1(scores, labels),
    }


class AnomalyMetrics(Metric):
    """Collects scores and labels over an evaluation pass; `compute` gives AUROC, FPR@TPR and best F1."""

    full_state_update = False

    def __init__(self, tpr: float = 0.995) -> None:
        super().__init__()
        self.tpr = tpr
        self.add_state("scores", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")

    def update(self, scores: torch.Tensor, labels: torch.Tensor) -> None:
        self.scores.append(scores.detach())
        self.labels.append(labels.detach())

    def compute(self) -> dict[str, torch.Tensor]:
        return anomaly_metrics(dim_zero_cat(self.scores), dim_zero_cat(self.labels), self.tpr)
