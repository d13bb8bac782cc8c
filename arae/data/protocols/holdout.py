"""The hold-out protocol (the medical data sets, Head CT and Brain MRI): `train_fraction` of the normal
images, shuffled with the seed, train; the other normal images and every anomalous image are the test set.
Protocol 1 (p1.py) is this split with the test anomalies drawn to a share and an optional validation set."""

from __future__ import annotations

import torch

from arae.data.classes import normal_classes
from arae.data.protocols.base import Labelled, ProtocolDataModule, Splits, to_unit
from arae.data.splits import held_out_split
from arae.errors import DataError


class HoldOut(ProtocolDataModule):
    """Splits the pooled images of a data set (its official splits merged, if it has them)."""

    tau: float | None = None  # every anomaly is tested
    validation_fraction = 0.0  # no validation split

    def __init__(
        self, source, normal_class, *, train_fraction: float, name: str, batch_size: int, eval_batch_size: int, seed: int
    ) -> None:
        super().__init__(
            source, normal_class, name=name, batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed
        )
        self.train_fraction = float(train_fraction)

    def _choose_normals(self, labels: torch.Tensor) -> tuple[int, ...]:
        chosen = normal_classes(self.normal_class, self.source.num_classes, self.source.name)
        empty = [c for c in chosen if not bool((labels == c).any())]
        if empty:
            names = ", ".join(f"{c} ({self.source.classes[c]})" for c in empty)
            raise DataError(f"normal class {names} has no images in this copy of {self.source.name}; choose another")
        return chosen

    def _split(self) -> Splits:
        images, labels = self.source.pooled()
        self.normal_classes = self._choose_normals(labels)
        is_normal = torch.isin(labels, torch.tensor(self.normal_classes))
        index = held_out_split(is_normal, self.train_fraction, self.tau, self.seed, self.validation_fraction)
        if len(index.test_anomaly) == 0:
            raise DataError(f"{self.source.name} has no anomalous images for normal classes {self.normal_classes}")

        def labelled(normal: torch.Tensor, anomaly: torch.Tensor) -> Labelled:
            both = torch.cat([normal, anomaly])
            is_anomaly = torch.cat([torch.zeros(len(normal)), torch.ones(len(anomaly))]).long()
            return Labelled(to_unit(images[both]), is_anomaly, labels[both])

        test = labelled(index.test_normal, index.test_anomaly)
        val = labelled(index.val_normal, index.val_anomaly) if self.validation_fraction > 0 else None
        return Splits(to_unit(images[index.train]), test, val)
