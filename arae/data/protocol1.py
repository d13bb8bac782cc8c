"""Protocols that split a pooled data set: protocol 1 (normals 80 % train / 20 % test, anomalies added so
that normals are the fraction tau of the test set, optional validation set) and the medical hold-out
protocol (normals 90 % train / 10 % test, every anomaly tested). One class, two config files."""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from arae.data.classes import normal_classes
from arae.data.image_sources import pooled
from arae.data.loaders import TrainOrderState, batch_loader
from arae.data.protocol2 import to_unit
from arae.data.splits import HeldOutSplit, draw_classes, held_out_split
from arae.errors import DataError


class HeldOutProtocol(TrainOrderState, pl.LightningDataModule):
    """`val_dataloader` serves the validation split when there is one, else the test split (the paper
    monitors the test AUROC every epoch); `test_dataloader` always serves the test split. Labels: 1 = anomaly.

    With `n_normal`, the normal classes are `n_normal` classes drawn with the seed from the classes that
    have images (COIL-100's protocol) and `normal_class` is not used.
    """

    def __init__(
        self,
        source,
        normal_class: int | Sequence[int],
        train_fraction: float,
        tau: float | None = None,
        validation: bool = False,
        validation_fraction: float = 0.2,
        n_normal: int | None = None,
        batch_size: int = 256,
        eval_batch_size: int = 4096,
        seed: int = 0,
        name: str = "p1",
    ) -> None:
        super().__init__()
        self.name = name
        self.source = source
        self.normal_class = normal_class
        self.train_fraction = float(train_fraction)
        self.tau = None if tau is None else float(tau)
        self.validation_fraction = float(validation_fraction) if validation else 0.0
        self.n_normal = None if n_normal is None else int(n_normal)
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size)
        self.seed = int(seed)
        self.normal_classes: tuple[int, ...] = ()
        self.indices: HeldOutSplit | None = None
        self.train_images: torch.Tensor | None = None
        self.val_images: torch.Tensor | None = None
        self.val_labels: torch.Tensor | None = None
        self.test_images: torch.Tensor | None = None
        self.test_labels: torch.Tensor | None = None
        self.test_classes: torch.Tensor | None = None  # each test image's own class (figures pick by it)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_images.shape[1:])

    @property
    def has_validation(self) -> bool:
        return self.val_labels is not None

    def _choose_normals(self, labels: torch.Tensor) -> tuple[int, ...]:
        if self.n_normal is not None:
            return draw_classes(labels, self.n_normal, self.seed)
        chosen = normal_classes(self.normal_class, self.source.num_classes, self.source.name)
        empty = [c for c in chosen if not bool((labels == c).any())]
        if empty:
            names = ", ".join(f"{c} ({self.source.classes[c]})" for c in empty)
            raise DataError(f"normal class {names} has no images in this copy of {self.source.name}; choose another")
        return chosen

    @staticmethod
    def _labelled(images: torch.Tensor, normal: torch.Tensor, anomaly: torch.Tensor):
        index = torch.cat([normal, anomaly])
        labels = torch.cat([torch.zeros(len(normal)), torch.ones(len(anomaly))]).long()
        return to_unit(images[index]), labels

    def setup(self, stage: str | None = None) -> None:
        if self.train_images is not None:
            return
        images, labels = pooled(self.source)
        self.normal_classes = self._choose_normals(labels)
        is_normal = torch.isin(labels, torch.tensor(self.normal_classes))
        self.indices = held_out_split(is_normal, self.train_fraction, self.tau, self.seed, self.validation_fraction)
        if len(self.indices.test_anomaly) == 0:
            raise DataError(f"{self.source.name} has no anomalous images for normal classes {self.normal_classes}")
        self.train_images = to_unit(images[self.indices.train])
        self.test_images, self.test_labels = self._labelled(images, self.indices.test_normal, self.indices.test_anomaly)
        self.test_classes = labels[torch.cat([self.indices.test_normal, self.indices.test_anomaly])]
        if self.validation_fraction > 0:
            self.val_images, self.val_labels = self._labelled(images, self.indices.val_normal, self.indices.val_anomaly)

    def report(self) -> dict:
        """What results.json records about the data: split sizes and what the source said about itself."""
        return {"split_sizes": self.indices.sizes(), "data_notes": list(getattr(self.source, "notes", []))}

    def train_dataloader(self):
        index = torch.arange(len(self.train_images))
        return batch_loader(self.train_images, index, batch_size=self.batch_size, shuffle=True, generator=self.train_order)

    def val_dataloader(self):
        if self.has_validation:
            return batch_loader(self.val_images, self.val_labels, batch_size=self.eval_batch_size, shuffle=False)
        return self.test_dataloader()

    def test_dataloader(self):
        return batch_loader(self.test_images, self.test_labels, batch_size=self.eval_batch_size, shuffle=False)
