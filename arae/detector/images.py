"""Images into the form a detector was trained on: (N, C, H, W) floats in [0, 1].

Files are converted to the model's colour mode (C = 1: 8-bit grey "L", C = 3: "RGB") and resized to its
H x W with area averaging, as the data sets were prepared; arrays and tensors must already have the shape.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from arae.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
MODES = {1: "L", 3: "RGB"}
# 8-bit modes PIL converts faithfully to "L" / "RGB"; 16-bit and float images need the user's own scaling.
CONVERTIBLE = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}


def expected(image_shape: Sequence[int]) -> str:
    c, h, w = image_shape
    return f"(N, {c}, {h}, {w}) ({'grey' if c == 1 else 'RGB' if c == 3 else f'{c}-channel'} {h}x{w})"


def as_batch(images, image_shape: Sequence[int]) -> torch.Tensor:
    """A tensor/array of images (or one image) -> float (N, C, H, W) in [0, 1], or a DataError saying why not."""
    if isinstance(images, Image.Image) or (isinstance(images, (list, tuple)) and images and isinstance(images[0], Image.Image)):
        pictures = [images] if isinstance(images, Image.Image) else list(images)
        return torch.stack([from_pil(p, image_shape, strict=False)[0] for p in pictures])
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    shape = tuple(int(s) for s in image_shape)
    if x.dim() == len(shape):
        x = x.unsqueeze(0)
    if x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise DataError(
            f"images of shape {tuple(x.shape)} do not fit this detector, which takes {expected(shape)}; "
            "for image files use arae.detector.load_images (it converts and resizes them)"
        )
    if x.dtype == torch.uint8:
        return x.float().div(255.0)
    if not x.is_floating_point():
        raise DataError(f"images of dtype {x.dtype} are not supported: give uint8 (0..255) or floats in [0, 1]")
    x = x.float()
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise DataError(
            f"float images must lie in [0, 1], these span [{float(x.min()):.3g}, {float(x.max()):.3g}]; "
            "divide 8-bit pixel values by 255"
        )
    return x


def from_pil(picture: Image.Image, image_shape: Sequence[int], strict: bool = False) -> tuple[torch.Tensor, str]:
    """One PIL image -> (C, H, W) float tensor and a note of what was converted ('' when nothing was)."""
    c, h, w = (int(s) for s in image_shape)
    if c not in MODES:
        raise DataError(f"this detector takes {c}-channel images, which cannot be read from image files")
    notes = []
    if picture.mode != MODES[c]:
        if picture.mode not in CONVERTIBLE:
            raise DataError(
                f"image mode {picture.mode!r} (16-bit or float) is not converted automatically; "
                f"save it as 8-bit {MODES[c]} first"
            )
        notes.append(f"{picture.mode}->{MODES[c]}")
    if picture.size != (w, h):
        notes.append(f"{picture.size[0]}x{picture.size[1]}->{w}x{h}")
    if strict and notes:
        raise DataError(f"image is {picture.mode} {picture.size[0]}x{picture.size[1]}, the detector takes {expected(image_shape)}")
    picture = picture.convert(MODES[c]) if picture.mode != MODES[c] else picture
    if picture.size != (w, h):
        picture = picture.resize((w, h), Image.Resampling.BOX)
    array = np.asarray(picture, dtype=np.uint8).reshape(h, w, c)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255.0), "; ".join(notes)


def load_images(paths: Iterable[str | Path], image_shape: Sequence[int], strict: bool = False) -> tuple[torch.Tensor, list[str]]:
    """Read image files into a batch for a detector; returns the batch and one conversion note per file."""
    tensors, notes = [], []
    for path in paths:
        try:
            with Image.open(path) as picture:
                picture.load()
                tensor, note = from_pil(picture, image_shape, strict)
        except DataError as err:
            raise DataError(f"{path}: {err}") from err
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read {path} as an image: {err}") from err
        tensors.append(tensor)
        notes.append(note)
    if not tensors:
        raise DataError("no images to score")
    return torch.stack(tensors), notes


def collect_paths(arguments: Iterable[str]) -> list[Path]:
    """Files as given, image files inside folders (recursively, sorted), and glob patterns expanded."""
    found: list[Path] = []
    for arg in arguments:
        path = Path(arg)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not inside:
                raise DataError(f"folder {path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(arg):
            matches = sorted(Path(p) for p in glob.glob(arg, recursive=True) if Path(p).is_file())
            if not matches:
                raise DataError(f"the pattern {arg!r} matches no files")
            found.extend(matches)
        else:
            raise DataError(f"{arg} does not exist (give image files, folders or a quoted glob pattern)")
    return found
