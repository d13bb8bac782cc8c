"""Images into the form a detector was trained on: (N, C, H, W) floats in [0, 1].

Files and PIL images go through the training data's own reader (arae.data.images: EXIF orientation,
transparency over black, 16-bit scaling, the model's colour mode, its H x W with the training
interpolation), so a file scores exactly as training saw it; arrays and tensors must already have the shape.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from arae.data.images import IMAGE_SUFFIXES, decode, is_image, open_image
from arae.errors import DataError

MODES = {1: "L", 3: "RGB"}


def expected(image_shape: Sequence[int]) -> str:
    c, h, w = image_shape
    return f"(N, {c}, {h}, {w}) ({'grey' if c == 1 else 'RGB' if c == 3 else f'{c}-channel'} {h}x{w})"


def as_batch(images, image_shape: Sequence[int], interpolation: str = "area") -> torch.Tensor:
    """A tensor/array of images (or one image) -> float (N, C, H, W) in [0, 1], or a DataError saying why not."""
    if isinstance(images, Image.Image) or (isinstance(images, (list, tuple)) and images and isinstance(images[0], Image.Image)):
        pictures = [images] if isinstance(images, Image.Image) else list(images)
        return torch.stack([from_pil(ImageOps.exif_transpose(p), image_shape, interpolation)[0] for p in pictures])
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


def conversion_note(picture: Image.Image, image_shape: Sequence[int]) -> str:
    """What reading `picture` for this detector converts ('' when nothing), e.g. 'RGB->L; 56x56->28x28'."""
    c, h, w = (int(s) for s in image_shape)
    notes = [f"{picture.mode}->{MODES[c]}"] if picture.mode != MODES[c] else []
    if picture.size != (w, h):
        notes.append(f"{picture.size[0]}x{picture.size[1]}->{w}x{h}")
    return "; ".join(notes)


def from_pil(
    picture: Image.Image, image_shape: Sequence[int], interpolation: str = "area", strict: bool = False
) -> tuple[torch.Tensor, str]:
    """One PIL image -> (C, H, W) float tensor and a note of what was converted ('' when nothing was)."""
    c, h, w = (int(s) for s in image_shape)
    if c not in MODES:
        raise DataError(f"this detector takes {c}-channel images, which cannot be read from image files")
    note = conversion_note(picture, image_shape)
    if strict and note:
        raise DataError(f"image is {picture.mode} {picture.size[0]}x{picture.size[1]}, the detector takes {expected(image_shape)}")
    array = decode(picture, MODES[c], (h, w), interpolation)
    return torch.from_numpy(array.copy()).float().div(255.0), note


def load_images(
    paths: Iterable[str | Path], image_shape: Sequence[int], strict: bool = False, interpolation: str = "area"
) -> tuple[torch.Tensor, list[str]]:
    """Read image files into a batch for a detector; returns the batch and one conversion note per file."""
    tensors, notes = [], []
    for path in paths:
        picture = open_image(Path(path))  # its errors name the file
        try:
            tensor, note = from_pil(picture, image_shape, interpolation, strict)
        except DataError as err:
            raise DataError(f"{path}: {err}") from err
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
            inside = sorted(p for p in path.rglob("*") if is_image(p))
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
