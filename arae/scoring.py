"""Anomaly scores and what is computed from them: the detection metrics and the decision thresholds.

The score is the reconstruction error of the clean input; the anomaly is the positive class (label 1)
unless a function takes `positive`. Scores are computed without gradients, in eval mode, batch by batch
(`scores_of` for a tensor of images, `loader_scores` for a DataLoader of (images, labels)).

torchmetrics squashes scores outside [0, 1] through a sigmoid, which saturates on reconstruction errors
(sums of squares of tens) and turns distinct scores into ties. Scores are therefore min-max scaled into
[0, 1] before torchmetrics sees them: an order-preserving map that leaves AUROC and the ROC unchanged.
Thresholds are taken on the raw scores, never on a per-set rescaling, so a threshold picked on one set
means the same on another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.functional.classification import binary_auroc, binary_specificity_at_sensitivity
from torchmetrics.utilities import dim_zero_cat

from arae.errors import ConfigError

POSITIVE = ("normal", "anomaly")


# -- scores ------------------------------------------------------------------------------------------
def anomaly_score(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sum over pixels of (x - Dec(Enc(x)))^2, one score per image; higher means more anomalous."""
    return (x - model(x)).pow(2).flatten(1).sum(1)


@contextmanager
def evaluating(net: nn.Module) -> Iterator[torch.device]:
    """Eval mode without gradients for the block (the net's training flag restored after it); yields the
    net's device."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield next(net.parameters()).device
    finally:
        net.train(was_training)


def scores_of(net: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Anomaly scores (on the CPU) of `images`, moved to the net's device `batch_size` at a time (a run's
    protocol.eval_batch_size)."""
    with evaluating(net) as device:
        return torch.cat([anomaly_score(net, b.to(device)).cpu() for b in images.split(batch_size)] or [torch.empty(0)])


def loader_scores(net: nn.Module, batches: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, labels) on the CPU over an iterable of (images, labels) batches, e.g. a DataLoader."""
    scores, labels = [torch.empty(0)], [torch.empty(0, dtype=torch.long)]
    with evaluating(net) as device:
        for x, y in batches:
            scores.append(anomaly_score(net, x.to(device)).cpu())
            labels.append(y.cpu())
    return torch.cat(scores), torch.cat(labels)


# -- metrics -----------------------------------------------------------------------------------------
def to_unit_interval(scores: torch.Tensor) -> torch.Tensor:
    scores = scores.double()
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else torch.zeros_like(scores)


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return binary_auroc(to_unit_interval(scores), labels.long(), thresholds=None)


def fpr_at_tpr(scores: torch.Tensor, labels: torch.Tensor, tpr: float = 0.995) -> torch.Tensor:
    """False positive rate at the first threshold whose true positive rate reaches `tpr`: 1 - the highest
    specificity at sensitivity >= `tpr`."""
    specificity, _ = binary_specificity_at_sensitivity(to_unit_interval(scores), labels.long(), min_sensitivity=tpr)
    return 1 - specificity


def best_f1(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The largest F1 over all thresholds (the paper's 'F1 at the threshold that maximises it')."""
    return torch.tensor(best_threshold(scores.double().flatten(), labels.flatten().bool())[0])


def anomaly_metrics(scores: torch.Tensor, labels: torch.Tensor, tpr: float = 0.995) -> dict[str, torch.Tensor]:
    """AUROC, FPR at `tpr` TPR and best F1, the anomaly positive."""
    return {
        "auroc": auroc(scores, labels),
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


# -- thresholds --------------------------------------------------------------------------------------
def oriented(scores: torch.Tensor, labels: torch.Tensor, positive: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Anomaly scores and labels (1 = anomaly) -> scores that grow with the positive class, positive mask."""
    if positive not in POSITIVE:
        raise ConfigError(f"the F1 positive class must be one of {POSITIVE}, got {positive!r}")
    scores, labels = scores.double().flatten(), labels.flatten().bool()
    return (scores, labels) if positive == "anomaly" else (-scores, ~labels)


def best_threshold(scores: torch.Tensor, positive: torch.Tensor) -> tuple[float, float]:
    """(largest F1, its threshold) over every threshold `score >= t` on these scores."""
    order = torch.argsort(scores, descending=True, stable=True)
    sorted_scores, hits = scores[order], positive[order].double()
    true_pos, false_pos = hits.cumsum(0), (1 - hits).cumsum(0)
    last_of_tie = torch.cat([sorted_scores[1:] != sorted_scores[:-1], sorted_scores.new_ones(1, dtype=torch.bool)])
    f1 = 2 * true_pos[last_of_tie] / (true_pos[last_of_tie] + false_pos[last_of_tie] + hits.sum()).clamp_min(1e-12)
    best = int(torch.argmax(f1))
    return float(f1[best]), float(sorted_scores[last_of_tie][best])


def f1_at(scores: torch.Tensor, positive: torch.Tensor, threshold: float) -> float:
    """F1 of the verdict `score >= threshold`."""
    predicted = scores >= threshold
    true_pos = (predicted & positive).sum()
    return float(2 * true_pos / (predicted.sum() + positive.sum()).clamp_min(1))


def quantile_threshold(scores: torch.Tensor, normal_tpr: float) -> float:
    """The smallest score s with at least `normal_tpr` of `scores` <= s: that share passes as normal."""
    ordered = scores.double().sort().values
    index = max(math.ceil(normal_tpr * len(ordered)) - 1, 0)
    return float(ordered[index])
