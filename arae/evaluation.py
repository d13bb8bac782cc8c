"""F1 at a chosen threshold: the best threshold on one set (validation) applied to another (test).

Thresholds are taken on the raw reconstruction errors, never on a per-set rescaling, so a threshold picked
on validation means the same on test. Which class is "positive" is a setting: the paper takes the anomaly
as positive unless it says otherwise, which it does only for Figure 4 (the normal class positive). Mind the
difference: with the normal class positive, flagging every image normal already scores 2τ/(1+τ) when
normals are the fraction τ of the set, so that F1 never falls below it.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from arae.data.loaders import batch_loader
from arae.errors import ConfigError
from arae.scoring import anomaly_score

POSITIVE = ("normal", "anomaly")


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
    last_of_tie = torch.cat([sorted_scores[1:] != sorted_scores[:-1], torch.tensor([True])])
    f1 = 2 * true_pos[last_of_tie] / (true_pos[last_of_tie] + false_pos[last_of_tie] + hits.sum()).clamp_min(1e-12)
    best = int(torch.argmax(f1))
    return float(f1[best]), float(sorted_scores[last_of_tie][best])


def f1_at(scores: torch.Tensor, positive: torch.Tensor, threshold: float) -> float:
    predicted = scores >= threshold
    true_pos = (predicted & positive).sum()
    return float(2 * true_pos / (predicted.sum() + positive.sum()).clamp_min(1))


@torch.no_grad()
def collect_scores(net: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device, batch_size: int = 4096):
    scores = [anomaly_score(net, x.to(device)).cpu() for x, _ in batch_loader(images, labels, batch_size=batch_size, shuffle=False)]
    return torch.cat(scores), labels


class ThresholdedF1(pl.Callback):
    """At the end of testing, logs `test/f1_<positive>_max` (the best F1 on test; Table 3 reports it with
    the anomaly positive) and, when the DataModule has a validation split, `test/f1_<positive>_at_val_threshold`:
    the F1 on test at the threshold that maximises F1 on validation (Figure 4, normal positive). Uses the
    weights being tested."""

    def __init__(self, positive: str) -> None:
        if positive not in POSITIVE:
            raise ConfigError(f"callbacks.thresholded_f1.positive must be one of {POSITIVE}, got {positive!r}")
        self.positive = positive
        self.results: dict[str, float] = {}

    def _scores(self, pl_module, images, labels):
        was_training = pl_module.net.training
        pl_module.net.eval()
        try:
            scores, labels = collect_scores(pl_module.net, images, labels, pl_module.device)
        finally:
            pl_module.net.train(was_training)
        return oriented(scores, labels, self.positive)

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        test, val = trainer.datamodule.test_set(), trainer.datamodule.val_set()
        test_scores, test_positive = self._scores(pl_module, test.images, test.labels)
        self.results = {f"f1_{self.positive}_max": best_threshold(test_scores, test_positive)[0]}
        if val is not None:
            val_scores, val_positive = self._scores(pl_module, val.images, val.labels)
            _, threshold = best_threshold(val_scores, val_positive)
            self.results[f"f1_{self.positive}_at_val_threshold"] = f1_at(test_scores, test_positive, threshold)
        for key, value in self.results.items():
            pl_module.log(f"test/{key}", value)
