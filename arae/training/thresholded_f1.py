"""F1 at a chosen threshold: the best threshold on one set (validation) applied to another (test).

Which class is "positive" is a setting: the paper takes the anomaly as positive unless it says otherwise,
which it does only for Figure 4 (the normal class positive). Mind the difference: with the normal class
positive, flagging every image normal already scores 2τ/(1+τ) when normals are the fraction τ of the set,
so that F1 never falls below it. Scores and thresholds are arae.scoring's.
"""

from __future__ import annotations

import pytorch_lightning as pl

from arae.errors import ConfigError
from arae.scoring import POSITIVE, best_threshold, f1_at, oriented, scores_of


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

    def _scores(self, net, split, batch_size: int):
        return oriented(scores_of(net, split.images, batch_size), split.labels, self.positive)

    def compute(self, net, datamodule) -> dict[str, float]:
        """The F1 figures of `net` on the DataModule's test split (and validation threshold, if any)."""
        test, val = datamodule.test_set(), datamodule.val_set()
        batch_size = datamodule.eval_batch_size
        test_scores, test_positive = self._scores(net, test, batch_size)
        results = {f"f1_{self.positive}_max": best_threshold(test_scores, test_positive)[0]}
        if val is not None:
            val_scores, val_positive = self._scores(net, val, batch_size)
            _, threshold = best_threshold(val_scores, val_positive)
            results[f"f1_{self.positive}_at_val_threshold"] = f1_at(test_scores, test_positive, threshold)
        return results

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.results = self.compute(pl_module.net, trainer.datamodule)
        for key, value in self.results.items():
            pl_module.log(f"test/{key}", value)
