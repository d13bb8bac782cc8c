"""Image-file data sets: COIL-100, any image folder (CIFAR-10 as JPEGs, your own images), Head CT, Brain MRI,
and CIFAR-10 in torchvision's pickled batches. Each loads its files once into uint8 tensors (N, C, H, W).

Sources with official train/test splits implement `split(train)`; the others (COIL-100, the medical sets)
implement `pooled()` only and are split by a protocol (protocol 1, or the hold-out protocol).
"""

from __future__ import annotations

import csv
import logging
import pickle
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from arae.data.images import CHANNELS, is_image, read_images
from arae.data.registry import register_source
from arae.data.sources import DownloadedSource, ImageSource
from arae.errors import ConfigError, DataError

log = logging.getLogger(__name__)
Split = tuple[torch.Tensor, torch.Tensor]


def _size(image_size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (int(image_size), int(image_size)) if isinstance(image_size, int) else tuple(int(s) for s in image_size)
    if len(size) != 2 or min(size) <= 0:
        raise ConfigError(f"dataset.source.image_size must be a positive int or [height, width], got {image_size}")
    return size


class FileSource(ImageSource):
    """Shared settings of sources read from image files: the mode, the size and how to resize."""

    def __init__(self, path: str | Path, image_size, mode: str, interpolation: str) -> None:
        if path is None:
            raise ConfigError(
                f"dataset={self.name} needs the folder of images: set dataset.source.path=/path/to/images"
            )
        if mode not in CHANNELS:
            raise ConfigError(f"dataset.source.mode {mode!r} is not supported; use one of {sorted(CHANNELS)}")
        self.path = Path(path).expanduser()
        self.size = _size(image_size)
        self.mode = mode
        self.interpolation = interpolation
        self.notes = []
        self._shape: tuple[int, int, int] | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        if self._shape is None:
            raise RuntimeError("image_shape is known once the images are loaded")
        return self._shape

    def _read(self, paths: Sequence[Path]) -> torch.Tensor:
        images = read_images(paths, self.mode, self.size, self.interpolation)
        if len(images):
            self._shape = tuple(images.shape[1:])
        return images

    def _require_dir(self, folder: Path, what: str) -> None:
        if not folder.is_dir():
            raise DataError(
                f"{self.name}: {folder} does not exist (expected {what}). "
                f"Set ARAE_DATA_DIR (or dataset.source.path) to where the data set lives."
            )


class PooledSource(FileSource):
    """A data set without official train/test splits: a protocol decides which images train."""

    official_split = False

    def split(self, train: bool) -> Split:
        raise no_official_split(self.name)


def no_official_split(name: str) -> ConfigError:
    return ConfigError(
        f"{name} has no official train/test split, so protocol 2 cannot use it; use protocol=p1 or protocol=holdout"
    )


@register_source("coil100")
class COIL100(PooledSource):
    """COIL-100: `obj{N}__{angle}.png`, objects 1..100 at 72 poses (0..355 degrees in 5-degree steps).
    Class index = object number - 1. Files of any resolution are resized to `image_size`."""

    classes = [f"obj{n}" for n in range(1, 101)]
    poses = tuple(range(0, 360, 5))
    pattern = re.compile(r"^obj(\d+)__(\d+)\.png$", re.IGNORECASE)

    def __init__(self, path, image_size, mode, interpolation) -> None:
        super().__init__(path, image_size, mode, interpolation)
        self._data: Split | None = None

    def _files(self) -> list[tuple[int, int, Path]]:
        self._require_dir(self.path, "COIL-100's obj{N}__{angle}.png files")
        found = []
        for path in self.path.iterdir():
            match = self.pattern.match(path.name)
            if match is None or not path.is_file():
                continue
            obj, angle = int(match.group(1)), int(match.group(2))
            if not 1 <= obj <= len(self.classes):
                raise DataError(f"{path}: object number {obj} is outside COIL-100's 1..{len(self.classes)}")
            found.append((obj, angle, path))
        if not found:
            raise DataError(
                f"coil100: no obj{{N}}__{{angle}}.png files in {self.path}. "
                f"Point ARAE_DATA_DIR (or dataset.source.path) at the folder holding them."
            )
        return sorted(found)

    def _describe_missing(self, found: list[tuple[int, int, Path]]) -> None:
        present = {(obj, angle) for obj, angle, _ in found}
        expected = len(self.classes) * len(self.poses)
        per_object = {}
        for obj in range(1, len(self.classes) + 1):
            absent = [a for a in self.poses if (obj, a) not in present]
            if absent:
                per_object[obj] = absent
        if not per_object:
            return
        whole = [f"obj{o}" for o, a in per_object.items() if len(a) == len(self.poses)]
        partial = [f"obj{o} ({len(a)})" for o, a in per_object.items() if len(a) < len(self.poses)]
        note = (
            f"coil100: {len(present)} of {expected} images present in {self.path}; missing entirely: "
            f"{', '.join(whole) or 'none'}; objects missing some poses (count): {', '.join(partial) or 'none'}. "
            f"Normal objects are drawn only from the objects present; each object uses the images it has."
        )
        self.notes.append(note)
        log.warning(note)

    def pooled(self) -> Split:
        if self._data is None:
            found = self._files()
            self._describe_missing(found)
            labels = torch.tensor([obj - 1 for obj, _, _ in found], dtype=torch.long)
            self._data = (self._read([p for _, _, p in found]), labels)
        return self._data


def _class_files(folder: Path, classes: Sequence[str]) -> tuple[list[Path], list[int]]:
    paths, labels = [], []
    for index, name in enumerate(classes):
        files = sorted(p for p in (folder / name).iterdir() if is_image(p)) if (folder / name).is_dir() else []
        paths += files
        labels += [index] * len(files)
    return paths, labels


@register_source("folder")
class ImageFolder(FileSource):
    """Your own images: `path/{train,test}/<class>/*.png|jpg`. Classes are the sub-folders of `train`,
    sorted by name (class index = position), e.g. CIFAR-10's airplane=0 ... truck=9."""

    def __init__(self, path, image_size, mode, interpolation, train_dir="train", test_dir="test"):
        super().__init__(path, image_size, mode, interpolation)
        self.dirs = {True: self.path / train_dir, False: self.path / test_dir}
        self._splits: dict[bool, Split] = {}
        self._classes: list[str] | None = None

    @property
    def classes(self) -> list[str]:
        if self._classes is None:
            train = self.dirs[True]
            self._require_dir(train, "one sub-folder of images per class")
            self._classes = sorted(p.name for p in train.iterdir() if p.is_dir() and not p.name.startswith("."))
            if len(self._classes) < 2:
                raise DataError(f"{train} must hold at least two class sub-folders, found {self._classes}")
        return self._classes

    def split(self, train: bool) -> Split:
        if train not in self._splits:
            folder = self.dirs[train]
            self._require_dir(folder, "one sub-folder of images per class")
            extra = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in self.classes)
            if extra:
                raise DataError(f"{folder} has class folders {extra} that {self.dirs[True]} lacks")
            paths, labels = _class_files(folder, self.classes)
            if not paths:
                raise DataError(f"no image files (.png, .jpg, ...) under {folder}/<class>/")
            self._splits[train] = (self._read(paths), torch.tensor(labels, dtype=torch.long))
        return self._splits[train]


@register_source("brain_mri")
class BrainMRI(PooledSource):
    """Brain MRI - Tumor: `path/no/*` (normal, class 0) and `path/yes/*` (tumour, class 1)."""

    classes = ["no", "yes"]

    def __init__(self, path, image_size, mode, interpolation) -> None:
        super().__init__(path, image_size, mode, interpolation)
        self._data: Split | None = None

    def pooled(self) -> Split:
        if self._data is None:
            for name in self.classes:
                self._require_dir(self.path / name, f"the {name}/ image folder")
            paths, labels = _class_files(self.path, self.classes)
            self._data = (self._read(paths), torch.tensor(labels, dtype=torch.long))
        return self._data


@register_source("head_ct")
class HeadCT(PooledSource):
    """Head CT - hemorrhage: `path/labels.csv` (`id, hemorrhage`, 1 = hemorrhage) and the slices
    `path/head_ct/NNN.png` (or `path/NNN.png`). Class 0 = normal, 1 = hemorrhage."""

    classes = ["normal", "hemorrhage"]

    def __init__(self, path, image_size, mode, interpolation) -> None:
        super().__init__(path, image_size, mode, interpolation)
        self._data: Split | None = None

    def _labels(self) -> dict[int, int]:
        table = self.path / "labels.csv"
        if not table.is_file():
            raise DataError(f"head_ct: {table} does not exist. Set ARAE_DATA_DIR to the folder holding head_ct/.")
        labels = {}
        with open(table, newline="") as handle:
            rows = csv.reader(handle)
            header = [h.strip().lower() for h in next(rows, [])]
            if header[:2] != ["id", "hemorrhage"]:
                raise DataError(f"{table}: expected the header 'id, hemorrhage', found {header}")
            for number, row in enumerate(rows, start=2):
                if not row or not "".join(row).strip():
                    continue
                try:
                    ident, value = int(row[0]), int(row[1])
                except (ValueError, IndexError):
                    raise DataError(f"{table} line {number}: expected 'id,hemorrhage' integers, found {row}") from None
                if value not in (0, 1):
                    raise DataError(f"{table} line {number}: hemorrhage must be 0 or 1, found {value}")
                labels[ident] = value
        return labels

    def pooled(self) -> Split:
        if self._data is None:
            labels = self._labels()
            folder = self.path / "head_ct" if (self.path / "head_ct").is_dir() else self.path
            files = {}
            for path in folder.iterdir():
                if is_image(path) and path.stem.isdigit():
                    files[int(path.stem)] = path
            missing = sorted(set(labels) - set(files))
            if missing:
                raise DataError(f"head_ct: labels.csv lists ids {missing[:10]} with no image in {folder}")
            ids = sorted(labels)
            self._data = (self._read([files[i] for i in ids]), torch.tensor([labels[i] for i in ids]))
        return self._data


class BatchUnpickler(pickle.Unpickler):
    """CIFAR-10's batches are pickles, which may name any function to call; this reads only what they hold
    (plain values and NumPy arrays, as NumPy 1 or 2 pickles them), so a crafted file cannot run code."""

    ALLOWED = {
        *((f"numpy.{core}.multiarray", "_reconstruct") for core in ("core", "_core")),
        *((f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes pickled by Python 3 at protocol 2
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds")
        return super().find_class(module, name)


@register_source("cifar10")
class CIFAR10(DownloadedSource):
    """CIFAR-10 in torchvision's layout (`root/cifar-10-batches-py/`, the pickled batches), downloaded by
    torchvision when missing and the network is up. For the JPEG copy use dataset=cifar10_jpg."""

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    image_shape = (3, 32, 32)
    folder = "cifar-10-batches-py"
    files = {True: [f"data_batch_{i}" for i in range(1, 6)], False: ["test_batch"]}
    advice = f"holding {folder}/, or use dataset=cifar10_jpg for a folder of JPEGs"

    @property
    def data_dir(self) -> Path:
        return self.root / self.folder

    def _missing(self) -> list[str]:
        return [f for names in self.files.values() for f in names if not (self.data_dir / f).is_file()]

    def _download(self) -> None:
        import torchvision.datasets as tvd

        tvd.CIFAR10(str(self.root), train=True, download=True)

    def _batch(self, name: str) -> Split:
        path = self.data_dir / name
        try:
            with open(path, "rb") as handle:
                entry = BatchUnpickler(handle, encoding="latin1").load()
            data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
        except Exception as err:
            raise DataError(f"cannot read {path}: {err}. Delete {self.data_dir} and download it again.") from err
        if len(data) != len(labels) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
            raise DataError(f"{path} is corrupt: {len(data)} images, {len(labels)} labels. Download it again.")
        return torch.from_numpy(data.copy()), torch.from_numpy(labels)

    def split(self, train: bool) -> Split:
        self._fetch()
        parts = [self._batch(name) for name in self.files[train]]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
