"""Protocol 2 (conf/protocol/p2.yaml): the official splits. Train on the official training images of the
normal class(es); test on the whole official test split, every other class anomalous (label 1). The
per-epoch monitoring (`val/*`) reads the test split too, as the paper logs test AUROC every epoch; no
checkpoint is ever selected on it."""

from __future__ import annotations

import torch

from arae.data.classes import normal_classes
from arae.data.image_sources import no_official_split
from arae.data.protocols.base import Labelled, ProtocolDataModule, Splits, to_unit
from arae.errors import DataError


class ProtocolTwo(ProtocolDataModule):
    def __init__(self, source, normal_class, *, name: str, batch_size: int, eval_batch_size: int, seed: int) -> None:
        super().__init__(
            source, normal_class, name=name, batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed
        )
        if not source.official_split:
            raise no_official_split(source.name)
        self.normal_classes = normal_classes(normal_class, source.num_classes, source.name)

    def _is_normal(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.isin(labels, torch.tensor(self.normal_classes))

    def _names(self) -> str:
        return ", ".join(f"{c} ({self.source.classes[c]})" for c in self.normal_classes)

    def _split(self) -> Splits:
        images, labels = self.source.split(train=True)
        normal = self._is_normal(labels)
        if not bool(normal.any()):
            raise DataError(
                f"the training split of {self.source.name} has no images of normal class {self._names()}; "
                "add images to that class (for dataset=folder: DIR/train/<class>/) or choose another normal_class"
            )
        train = to_unit(images[normal])
        images, labels = self.source.split(train=False)
        test = Labelled(to_unit(images), (~self._is_normal(labels)).long(), labels)
        kinds = {0: f"images of normal class {self._names()}", 1: "anomalous images (other classes)"}
        missing = [text for label, text in kinds.items() if not bool((test.labels == label).any())]
        if missing:
            raise DataError(
                f"the test split of {self.source.name} has no {' and no '.join(missing)}, so no AUROC can be "
                "measured; the test split needs both (for dataset=folder: add images to DIR/test/<class>/)"
            )
        return Splits(train, test)
