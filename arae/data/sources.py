"""Image sources: each loads a data set's official splits as uint8 tensors (N, C, H, W) plus labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from arae.data.download import download_or_explain
from arae.data.idx import read_idx
from arae.data.registry import register_source
from arae.errors import DataError

Split = tuple[torch.Tensor, torch.Tensor]


class ImageSource:
    """What every data source gives the protocols: its `classes` (and `num_classes`), `notes` (what it found
    missing or odd, recorded in results.json), `official_split` with `split(train)` where the data set has
    official train/test splits, and `pooled()`: all its images with their labels."""

    name: str  # set by register_source
    classes: list[str]
    notes: Sequence[str] = ()  # a source that notes something keeps its own list
    official_split = True  # protocol 2 reads split(train); pooled sets (COIL-100, medical) have none

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, train: bool) -> Split:
        raise NotImplementedError

    def pooled(self) -> Split:
        """Every image with its label: the official splits merged, train first (protocol 1)."""
        train, test = self.split(train=True), self.split(train=False)
        return torch.cat([train[0], test[0]]), torch.cat([train[1], test[1]])


class DownloadedSource(ImageSource):
    """A data set in torchvision's layout under `root`, which torchvision downloads when files are missing
    (and `download` is on). Subclasses say where the files lie, which are missing and how to fetch them."""

    data_dir: Path  # where the files are looked for
    advice: str  # what a folder for ARAE_DATA_DIR must hold

    def __init__(self, root: str | Path, download: bool) -> None:
        self.root = Path(root).expanduser()
        self.download = download

    def _missing(self) -> list[str]:
        raise NotImplementedError

    def _download(self) -> None:
        raise NotImplementedError

    def _fetch(self) -> None:
        """Download with torchvision into `root`, or explain where the data was looked for."""
        missing = self._missing()
        if missing:
            hint = (
                f"{self.name} is missing from {self.data_dir} (looked for {', '.join(missing)}). "
                f"Set ARAE_DATA_DIR to a folder {self.advice}"
            )
            download_or_explain(hint, self.download, self._download)


class IdxSource(DownloadedSource):
    """A torchvision-style IDX data set under `root/<folder>/raw/` (MNIST, Fashion-MNIST)."""

    folder: str
    image_shape = (1, 28, 28)
    files = {
        True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }

    @property
    def data_dir(self) -> Path:
        return self.root / self.folder / "raw"

    @property
    def advice(self) -> str:
        return f"that holds {self.folder}/raw/ with the IDX files"

    def _find(self, stem: str) -> Path | None:
        for candidate in (self.data_dir / stem, self.data_dir / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        return None

    def _missing(self) -> list[str]:
        return [stem for pair in self.files.values() for stem in pair if self._find(stem) is None]

    def _download(self) -> None:
        import torchvision.datasets as tvd

        getattr(tvd, self.folder)(str(self.root), train=True, download=True)
        getattr(tvd, self.folder)(str(self.root), train=False, download=True)

    def split(self, train: bool) -> Split:
        self._fetch()
        images_file, labels_file = (self._find(stem) for stem in self.files[train])
        images, labels = read_idx(images_file), read_idx(labels_file)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{images_file} and {labels_file} do not match: images {images.shape}, labels {labels.shape}."
            )
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise DataError(f"{labels_file} has labels outside 0..{self.num_classes - 1}: the file is corrupt.")
        return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


@register_source("mnist")
class MNIST(IdxSource):
    folder = "MNIST"
    classes = [str(d) for d in range(10)]


@register_source("fashion_mnist")
class FashionMNIST(IdxSource):
    folder = "FashionMNIST"
    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip
