"""arae.scoring: scores without gradients, the metrics (checked against scikit-learn and the hand-written
versions they replaced) and the thresholds."""

import numpy as np
import pytest
import torch
from conftest import mlp
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve
from torch import nn
from torchmetrics.functional.classification import binary_precision_recall_curve, binary_roc

from arae.errors import ConfigError
from arae.scoring import (
    AnomalyMetrics,
    anomaly_metrics,
    anomaly_score,
    best_f1,
    best_threshold,
    f1_at,
    fpr_at_tpr,
    loader_scores,
    oriented,
    scores_of,
    to_unit_interval,
)


@pytest.fixture
def example():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    # reconstruction errors are large positive numbers: the sigmoid trap of torchmetrics
    scores = 30 + 10 * rng.standard_normal(400) + 6 * labels
    return torch.tensor(scores), torch.tensor(labels)


def sklearn_fpr_at(scores, labels, tpr_target):
    fpr, tpr, _ = roc_curve(labels, scores)
    return fpr[np.argmax(tpr >= tpr_target)]


def test_metrics_match_scikit_learn(example):
    scores, labels = example
    m = anomaly_metrics(scores, labels)
    assert m["auroc"].item() == pytest.approx(roc_auc_score(labels, scores), abs=1e-6)
    assert m["fpr@99.5tpr"].item() == pytest.approx(sklearn_fpr_at(scores, labels, 0.995), abs=1e-6)
    precision, recall, _ = precision_recall_curve(labels, scores)
    f1 = np.nanmax(2 * precision * recall / np.maximum(precision + recall, 1e-12))
    assert m["f1"].item() == pytest.approx(f1, abs=1e-6)


def test_large_scores_do_not_collapse_into_ties():
    labels = torch.tensor([0, 0, 1, 1])
    scores = torch.tensor([50.0, 60.0, 70.0, 80.0])  # sigmoid of these is 1.0 in float32
    assert anomaly_metrics(scores, labels)["auroc"].item() == 1.0


def test_fpr_at_tpr_on_a_hand_example():
    labels = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0])
    scores = torch.tensor([9.0, 8.0, 7.0, 2.0, 6.0, 5.0, 1.0, 0.0])
    # catching every anomaly needs the threshold at 2.0, where 2 of 4 normals (6, 5) are above
    assert fpr_at_tpr(scores, labels, 0.995).item() == pytest.approx(0.5)
    assert fpr_at_tpr(scores, labels, 0.75).item() == pytest.approx(0.0)


def test_metric_object_accumulates_batches(example):
    scores, labels = example
    metric = AnomalyMetrics()
    for s, y in zip(scores.split(64), labels.split(64)):
        metric.update(s, y)
    assert metric.compute()["auroc"].item() == pytest.approx(roc_auc_score(labels, scores), abs=1e-6)


# -- the hand-written versions fpr_at_tpr and best_f1 replaced, kept here as references -------------
def hand_fpr_at_tpr(scores, labels, tpr):
    fpr_curve, tpr_curve, _ = binary_roc(to_unit_interval(scores), labels.long(), thresholds=None)
    return fpr_curve[torch.nonzero(tpr_curve >= tpr - 1e-12)[0, 0]]


def pr_curve_best_f1(scores, labels):
    precision, recall, _ = binary_precision_recall_curve(to_unit_interval(scores), labels.long(), thresholds=None)
    return (2 * precision * recall / (precision + recall).clamp_min(1e-12)).max()


def random_cases(n_cases=60):
    """Score sets with and without ties, any share of anomalies, large reconstruction-error values."""
    g = torch.Generator().manual_seed(0)
    for case in range(n_cases):
        n = int(torch.randint(4, 300, (1,), generator=g))
        labels = torch.zeros(n, dtype=torch.long)
        labels[torch.randperm(n, generator=g)[: int(torch.randint(1, n, (1,), generator=g))]] = 1
        if case % 2:  # few distinct values: many ties
            scores = 30 + 3 * torch.randint(0, 12, (n,), generator=g).double()
        else:
            scores = 30 + 10 * torch.randn(n, generator=g, dtype=torch.float64) + 5 * labels
        yield scores, labels


@pytest.mark.parametrize("tpr", [0.995, 0.95, 0.9, 0.75, 0.5, 1.0])
def test_torchmetrics_fpr_at_tpr_is_the_hand_written_one(tpr):
    """FPR@TPR = 1 - specificity at sensitivity `tpr` (binary_specificity_at_sensitivity), ties included,
    also where the TPR reaches `tpr` exactly (9 of 10 anomalies at 0.9)."""
    for scores, labels in random_cases():
        assert float(fpr_at_tpr(scores, labels, tpr)) == pytest.approx(float(hand_fpr_at_tpr(scores, labels, tpr)), abs=1e-6)
    labels = torch.tensor([1] * 10 + [0] * 10)
    scores = torch.cat([torch.arange(10.0, 20.0), torch.arange(0.0, 10.0) + 0.5])
    assert float(fpr_at_tpr(scores, labels, tpr)) == pytest.approx(float(hand_fpr_at_tpr(scores, labels, tpr)), abs=1e-6)


def test_best_f1_is_the_precision_recall_curve_one():
    for scores, labels in random_cases():
        assert float(best_f1(scores, labels)) == pytest.approx(float(pr_curve_best_f1(scores, labels)), abs=1e-6)


# -- thresholds -------------------------------------------------------------------------------------
def brute_force_best_f1(scores, positive):
    best = 0.0
    for t in scores.unique():
        best = max(best, f1_at(scores, positive, float(t)))
    return best


def test_best_threshold_matches_brute_force_with_ties():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 12, (200,), generator=g).double()
    positive = torch.rand(200, generator=g) < 0.3
    f1, threshold = best_threshold(scores, positive)
    assert f1 == pytest.approx(brute_force_best_f1(scores, positive))
    assert f1_at(scores, positive, threshold) == pytest.approx(f1)


def test_normal_as_positive_flips_scores_and_labels():
    scores, labels = torch.tensor([1.0, 2.0, 9.0]), torch.tensor([0, 0, 1])
    s, p = oriented(scores, labels, "normal")
    assert p.tolist() == [True, True, False] and best_threshold(s, p)[0] == 1.0
    with pytest.raises(ConfigError, match="positive"):
        oriented(scores, labels, "inlier")


# -- scores without gradients -----------------------------------------------------------------------
def test_scores_of_batches_without_gradients_and_restores_the_mode():
    net = mlp((1, 6, 6), hidden_dims=[5])
    images = torch.rand(10, 1, 6, 6)
    net.train()
    scores = scores_of(net, images, batch_size=3)
    assert net.training and not scores.requires_grad
    with torch.no_grad():
        assert torch.allclose(scores, anomaly_score(net.eval(), images))
    assert scores_of(net, images[:0], 64).shape == (0,)


def test_loader_scores_keep_labels_in_step_and_restore_the_mode_on_errors():
    net = mlp((1, 6, 6), hidden_dims=[5]).eval()
    images, labels = torch.rand(7, 1, 6, 6), torch.tensor([0, 1, 0, 0, 1, 1, 0])
    scores, got = loader_scores(net, zip(images.split(2), labels.split(2)))
    assert torch.equal(got, labels) and torch.allclose(scores, scores_of(net, images, 64))

    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            raise RuntimeError("boom")

    broken = Broken().train()
    with pytest.raises(RuntimeError, match="boom"):
        scores_of(broken, images, 64)
    assert broken.training
