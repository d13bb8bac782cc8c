"""What every protocol shares: a LightningDataModule holding its splits as in-memory tensors.

A protocol (one file each: holdout.py, p1.py, p2.py, named as conf/protocol/) only says how a data set is
split, in `_split()`. The base holds the result and gives everything else one shape:

- `setup()` splits once (a second call does nothing); each method below needs it done.
- `train_set()`: the training images; `train_dataloader()` yields (images, positions into it).
- `val_set()` (None without a validation split; `has_validation`) and `test_set()`: labelled images.
- `eval_dataloader()`: the validation split, else the test split (the paper monitors test AUROC every
  epoch), which the per-epoch evaluation reads (arae/training/monitor.py); `test_dataloader()`: the test
  split. Batches are (images, labels), 1 = anomaly. Lightning's validation loop is not used: the
  DataModule offers Lightning a training and a test loader only.
- `calibration_split(fraction, seed)`: takes calibration images out of the training set (the detector's
  threshold); the DataModule changes its own training set, no one else does.
- `report()`: what results.json records about the data.
- `state_dict()`: the seeded generator of the training order, so a resumed run shuffles as an unbroken one.

Images are float32 in [0, 1]. Every setting comes from conf/protocol/<name>.yaml: the constructors have no
defaults, so a key missing there fails at once.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import pytorch_lightning as pl
import torch

from arae.data.loaders import batch_loader
from arae.errors import ConfigError

log = logging.getLogger(__name__)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1] (the authors divide by 255; no mean/std normalisation)."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


class Labelled(NamedTuple):
    """An evaluation split: images in [0, 1], labels (1 = anomaly), and each image's own class in its data
    set (figures pick images by it)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: torch.Tensor


class Splits(NamedTuple):
    """What a protocol's `_split()` returns."""

    train: torch.Tensor
    test: Labelled
    val: Labelled | None = None


# Below these sizes a run still trains and reports an AUROC, but one that rests on too few images to mean
# much (1 training image and 2 test images gave AUROC 0.0): a warning, kept in results.json's data_notes.
MIN_TRAIN, MIN_PER_KIND = 10, 2


def _images(n: int, kind: str) -> str:
    return f"{n} {kind} image{'' if n == 1 else 's'}"


def small_split_note(sizes: dict[str, int]) -> str | None:
    """What is too small in a protocol's split sizes (`split_sizes()`), or None."""
    evaluated = [(part, name) for part, name in (("test", "test"), ("val", "validation")) if f"{part}_normal" in sizes]
    fewest = min((sizes[f"{part}_{kind}"] for part, _ in evaluated for kind in ("normal", "anomaly")), default=MIN_PER_KIND)
    if sizes["train"] >= MIN_TRAIN and fewest >= MIN_PER_KIND:
        return None
    shown = [_images(sizes["train"], "training")] + [
        f"{sizes[f'{part}_normal']} normal and {_images(sizes[f'{part}_anomaly'], f'anomalous {name}')}"
        for part, name in evaluated
    ]
    return (
        f"the splits are small: {', '.join(shown)}; an AUROC of so few images says little (at least {MIN_TRAIN} "
        f"training images and {MIN_PER_KIND} normal and {MIN_PER_KIND} anomalous images per evaluation split are "
        "advised): add images, or choose more normal classes"
    )


def _counts(part: str, split: Labelled | None) -> dict[str, int]:
    if split is None:
        return {}
    anomalies = int(split.labels.sum())
    return {f"{part}_normal": len(split.labels) - anomalies, f"{part}_anomaly": anomalies}


class ProtocolDataModule(pl.LightningDataModule):
    """The base of every protocol; subclasses implement `_split()` and set `normal_classes`."""

    def __init__(self, source, normal_class, *, name: str, batch_size: int, eval_batch_size: int, seed: int) -> None:
        super().__init__()
        self.name = name
        self.source = source
        self.normal_class = normal_class
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size)
        self.seed = int(seed)
        # One generator draws every epoch's training order; its state is the DataModule's checkpoint state,
        # so a resumed run shuffles its next epochs as an uninterrupted one.
        self.train_order = torch.Generator().manual_seed(self.seed)
        self.normal_classes: tuple[int, ...] = ()
        self._splits: Splits | None = None
        self._train: torch.Tensor | None = None  # the training images, less any calibration split
        self.notes: list[str] = []  # what setup() found worth saying about the split (small_split_note)

    def _split(self) -> Splits:
        raise NotImplementedError(f"{type(self).__name__} must say how it splits the data (_split)")

    def setup(self, stage: str | None = None) -> None:
        if self._splits is None:
            self._splits = self._split()
            self._train = self._splits.train
            note = small_split_note(self.split_sizes())
            self.notes = [note] if note else []
            if note:
                log.warning(note)

    def _ready(self) -> Splits:
        if self._splits is None:
            raise RuntimeError(f"protocol {self.name}: call setup() before reading its splits")
        return self._splits

    # -- the splits -------------------------------------------------------------------------------
    def train_set(self) -> torch.Tensor:
        """The training images (N, C, H, W) that `train_dataloader` serves: the positions in its batches
        index this tensor. Per-epoch crafting attacks all of it (ARAEModule.on_train_epoch_start)."""
        self._ready()
        return self._train

    def val_set(self) -> Labelled | None:
        return self._ready().val

    def test_set(self) -> Labelled:
        return self._ready().test

    @property
    def has_validation(self) -> bool:
        return self.val_set() is not None

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self._ready().train.shape[1:])

    def calibration_split(self, fraction: float, seed: int) -> torch.Tensor:
        """The images a detector's threshold is calibrated on. `fraction` = 0: the training images
        themselves (training is unchanged). > 0: that share of the protocol's training images, drawn with
        `seed`, leaves the training set from now on. A function of the protocol's split: calling again
        draws again from the whole training split, not from what an earlier call left."""
        full = self._ready().train
        if fraction == 0:
            self._train = full
            return full
        n_held = max(1, round(fraction * len(full)))
        if n_held >= len(full):
            raise ConfigError(
                f"detector.holdout_fraction={fraction} leaves no training images out of {len(full)}; lower it"
            )
        order = torch.randperm(len(full), generator=torch.Generator().manual_seed(int(seed)))
        self._train = full[order[n_held:]]
        return full[order[:n_held]]

    def report(self) -> dict:
        """What results.json records about the data: the images trained and tested, the protocol's split
        sizes (before any calibration split) and what the source said about itself (e.g. missing files)."""
        splits = self._ready()
        return {
            "n_train": len(self.train_set()),
            "n_test": len(splits.test.labels),
            "split_sizes": self.split_sizes(),
            "data_notes": [*self.source.notes, *self.notes],
        }

    def split_sizes(self) -> dict[str, int]:
        """The protocol's split sizes, before any calibration split."""
        splits = self._ready()
        return {"train": len(splits.train), **_counts("val", splits.val), **_counts("test", splits.test)}

    def state_dict(self) -> dict:
        return {"train_order": self.train_order.get_state()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.train_order.set_state(state_dict["train_order"])

    # -- loaders ----------------------------------------------------------------------------------
    def train_dataloader(self):
        images = self.train_set()
        index = torch.arange(len(images))
        return batch_loader(images, index, batch_size=self.batch_size, shuffle=True, generator=self.train_order)

    def _eval_loader(self, split: Labelled):
        return batch_loader(split.images, split.labels, batch_size=self.eval_batch_size, shuffle=False)

    def eval_dataloader(self):
        """The split the per-epoch evaluation measures: the validation split, else the test split."""
        val = self.val_set()
        return self._eval_loader(val if val is not None else self.test_set())

    def test_dataloader(self):
        return self._eval_loader(self.test_set())
