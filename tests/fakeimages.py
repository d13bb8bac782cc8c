"""Tiny fake image data sets in the real on-disk layouts: COIL-100 file names, image folders, the Head CT
labels.csv, the Brain MRI yes/no folders and CIFAR-10's pickled batches. Files mix modes and sizes, as
the real copies do."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def pattern(label: int, size: int, seed: int) -> np.ndarray:
    """An RGB uint8 image whose class shows: a bright bar whose row depends on the label, over noise."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, size=(size, size, 3)).astype(np.uint8)
    row = (label * size // 7) % max(size - 3, 1)
    image[row : row + 3, :, label % 3] = 230
    return image


def save(path: Path, array: np.ndarray, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    if mode == "RGBA":
        image = image.convert("RGBA")
    elif mode == "L":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    image.save(path)


def write_coil(root: Path, objects=range(2, 12), poses=range(0, 40, 5), size=64) -> Path:
    """coil-100/obj{N}__{angle}.png; object 1 absent (as in the shared copy) and obj3__5 missing."""
    folder = root / "coil-100"
    for obj in objects:
        for angle in poses:
            if (obj, angle) != (3, 5):
                save(folder / f"obj{obj}__{angle}.png", pattern(obj, size, obj * 1000 + angle))
    return folder


def write_image_folder(root: Path, name="cifar10-jpg", n_train=8, n_test=4, size=32) -> Path:
    folder = root / name
    for split, count in (("train", n_train), ("test", n_test)):
        for label, cls in enumerate(CIFAR_CLASSES):
            for i in range(count):
                save(folder / split / cls / f"{i:04d}.jpg", pattern(label, size, 10000 * (split == "test") + 100 * label + i))
    return folder


def write_head_ct(root: Path, n_per_class=10) -> Path:
    """head_ct/labels.csv ('id, hemorrhage'; ids 0.. hemorrhage first) and head_ct/head_ct/NNN.png of mixed
    sizes and modes (RGB and RGBA, as in the real copy)."""
    folder = root / "head_ct"
    rows = ["id, hemorrhage"]
    for ident in range(2 * n_per_class):
        label = 1 if ident < n_per_class else 0
        rows.append(f"{ident},{label}")
        size = 40 + 3 * ident
        save(folder / "head_ct" / f"{ident:03d}.png", pattern(4 * label, size, ident), "RGBA" if ident % 5 == 0 else "RGB")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder


def write_brain_mri(root: Path, n_yes=8, n_no=12) -> Path:
    """brain_mri/{yes,no}/ with mixed extensions, names with spaces and modes (RGB, L, palette, RGBA)."""
    folder = root / "brain_mri"
    modes = ["RGB", "L", "P", "RGBA"]
    for i in range(n_yes):
        ext = [".jpg", ".JPG", ".png", ".jpeg"][i % 4]
        mode = modes[i % 4] if ext == ".png" else ("L" if i % 2 else "RGB")
        save(folder / "yes" / f"Y{i}{ext}", pattern(5, 48 + i, i), mode)
    for i in range(n_no):
        ext = [".jpg", ".png"][i % 2]
        mode = modes[(i // 2) % 4] if ext == ".png" else "RGB"
        save(folder / "no" / f"{i} no{ext}", pattern(0, 50 + 2 * i, 100 + i), mode)
    return folder


def write_cifar_batches(root: Path, per_batch=20, n_test=20) -> Path:
    """cifar-10-batches-py/{data_batch_1..5, test_batch}: pickled dicts of flat uint8 rows and labels."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]
    for b, (name, count) in enumerate(names):
        labels = [i % 10 for i in range(count)]
        data = np.stack([pattern(c, 32, 7 * b + i).transpose(2, 0, 1).reshape(-1) for i, c in enumerate(labels)])
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels}, handle)
    return folder


def write_image_datasets(root: Path) -> Path:
    write_coil(root)
    write_image_folder(root)
    write_head_ct(root)
    write_brain_mri(root)
    write_cifar_batches(root)
    return root
