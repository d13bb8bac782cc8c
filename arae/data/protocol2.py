"""Protocol 2: the official splits. Train on the official training images of the normal class(es);
test on the whole official test split, every other class anomalous (label 1)."""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch

from arae.data.classes import normal_classes
from arae.data.image_sources import no_official_split
from arae.data.loaders import TrainOrderState, batch_loader
from arae.errors import DataError


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1] (the authors divide by 255; no mean/std normalisation)."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


class ProtocolTwo(TrainOrderState, pl.LightningDataModule):
    """The per-epoch monitoring (`val/*`) and the final test both read the official test split, as the
    paper logs test AUROC every epoch; no checkpoint is ever selected on it."""

    def __init__(
        self,
        source,
        normal_class: int | Sequence[int],
        batch_size: int = 256,
        eval_batch_size: int = 4096,
        seed: int = 0,
        name: str = "p2",
    ) -> None:
        super().__init__()
        self.name = name
        self.source = source
        if not source.official_split:
            raise no_official_split(source.name)
        self.normal_classes = normal_classes(normal_class, source.num_classes, source.name)
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size)
        self.seed = int(seed)
        self.train_images: torch.Tensor | None = None
        self.test_images: torch.Tensor | None = None
        self.test_labels: torch.Tensor | None = None
        self.test_classes: torch.Tensor | None = None  # each test image's own class (figures pick by it)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.source.image_shape)

    def _is_normal(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.isin(labels, torch.tensor(self.normal_classes))

    def setup(self, stage: str | None = None) -> None:
        if self.train_images is not None:
            return
        images, labels = self.source.split(train=True)
        normal = self._is_normal(labels)
        if not bool(normal.any()):
            raise DataError(
                f"the training split of {self.source.name} has no images of normal class {self._names()}; "
                "add images to that class (for dataset=folder: DIR/train/<class>/) or choose another normal_class"
            )
        self.train_images = to_unit(images[normal])
        images, labels = self.source.split(train=False)
        self.test_images = to_unit(images)
        self.test_labels = (~self._is_normal(labels)).long()
        self.test_classes = labels
        kinds = {0: f"images of normal class {self._names()}", 1: "anomalous images (other classes)"}
        missing = [text for label, text in kinds.items() if not bool((self.test_labels == label).any())]
        if missing:
            raise DataError(
                f"the test split of {self.source.name} has no {' and no '.join(missing)}, so no AUROC can be "
                "measured; the test split needs both (for dataset=folder: add images to DIR/test/<class>/)"
            )

    def _names(self) -> str:
        names = getattr(self.source, "classes", None)
        return ", ".join(f"{c} ({names[c]})" if names else str(c) for c in self.normal_classes)

    def train_dataloader(self):
        index = torch.arange(len(self.train_images))
        return batch_loader(self.train_images, index, batch_size=self.batch_size, shuffle=True, generator=self.train_order)

    def _eval_loader(self):
        return batch_loader(self.test_images, self.test_labels, batch_size=self.eval_batch_size, shuffle=False)

    def val_dataloader(self):
        return self._eval_loader()

    def test_dataloader(self):
        return self._eval_loader()
