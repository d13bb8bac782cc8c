import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

from arae.metrics import AnomalyMetrics, anomaly_metrics, fpr_at_tpr


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
