"""Tiny fake data sets written in the real on-disk formats, for tests that must not need real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arae.data.idx import write_idx


def class_images(labels: np.ndarray, size: int = 28, channels: int = 1, seed: int = 0) -> np.ndarray:
    """uint8 images (N, size, size[, channels]) whose class is visible: class c lights a bar at row 2c+1
    and a column at 2c+4, over faint noise, so a detector trained on one class can tell it apart."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(len(labels), size, size), dtype=np.int64)
    for i, c in enumerate(labels):
        row, col = (2 * int(c) + 1) % size, (2 * int(c) + 4) % size
        images[i, row : row + 2, :] = 220
        images[i, :, col : col + 2] = 200
    images = images.clip(0, 255).astype(np.uint8)
    if channels > 1:
        images = np.repeat(images[..., None], channels, axis=-1)
    return images


def write_idx_dataset(root: Path, folder: str, n_train: int = 40, n_test: int = 12, classes: int = 10) -> Path:
    """root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte, as torchvision lays them out."""
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, per_class, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        labels = np.repeat(np.arange(classes), per_class).astype(np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", class_images(labels, seed=seed))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return Path(root)


def faint_class_images(labels: np.ndarray, size: int = 28, seed: int = 0) -> np.ndarray:
    """uint8 images (N, size, size) whose class is only faintly visible: class c raises a bar at row 2c+1 by
    a little over strong noise. A detector trained for a few batches ranks the classes only partly right,
    so its AUROC lies well inside (0, 1) and moves from epoch to epoch: a comparison of two runs' AUROC
    histories on these images can fail (on `class_images` every run's AUROC is 1.0)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 160, size=(len(labels), size, size), dtype=np.int64)
    for i, c in enumerate(labels):
        row = (2 * int(c) + 1) % size
        images[i, row : row + 3, :] += 20
    return images.clip(0, 255).astype(np.uint8)


def write_faint_idx_dataset(root: Path, folder: str = "MNIST", n_train: int = 40, n_test: int = 12) -> Path:
    """`write_idx_dataset` with `faint_class_images`."""
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, per_class, seed in (("train", n_train, 3), ("t10k", n_test, 4)):
        labels = np.repeat(np.arange(10), per_class).astype(np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", faint_class_images(labels, seed=seed))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return Path(root)
