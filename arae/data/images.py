"""Reading image files (PNG, JPEG, ...) with Pillow into uint8 tensors, with deterministic mode handling.

Every file becomes the same `mode` ("RGB" or "L") whatever it was stored as: transparency (RGBA, LA,
palette with a transparent colour) is composited over black, palette images are expanded, grey is
replicated to RGB, colour is turned grey with Pillow's ITU-R 601-2 luma, 16-bit and float images are
scaled by their own bit depth. EXIF orientation is applied first, so a file looks as a viewer shows it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from arae.errors import ConfigError, DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
CHANNELS = {"RGB": 3, "L": 1}
# "area" averages every source pixel inside each target pixel (OpenCV's INTER_AREA when shrinking).
INTERPOLATIONS = {
    "area": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
}


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer images are taken as 16-bit (0..65535), float images as 0..1: scaled by that depth,
    never by their own content, so one file always gives the same pixels."""
    top = 1.0 if image.mode == "F" else 65535.0
    array = np.asarray(image, dtype=np.float64) * (255.0 / top)
    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), mode="L")


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite any transparency over black, giving an RGB or L image."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image).convert("RGB")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = _to_8bit(image)
    if image.mode not in ("RGB", "L"):  # CMYK, YCbCr, LAB, 1 (bilevel), HSV
        image = image.convert("RGB")
    return image


def open_image(path: Path) -> Image.Image:
    """A file as a viewer shows it (EXIF orientation applied), loaded; a DataError naming the file if unreadable."""
    try:
        with Image.open(path) as opened:
            opened.load()
            return ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DataError(
            f"cannot read image {path}: {err}. Replace the file with a readable copy or remove it from the data set."
        ) from err


def decode(image: Image.Image, mode: str, size: Sequence[int] | None, interpolation: str = "area") -> np.ndarray:
    """A PIL image -> uint8 array (C, H, W) in `mode`, resized to `size` = (H, W) when given: the one
    conversion every image goes through, in training and in scoring."""
    if mode not in CHANNELS:
        raise ConfigError(f"image mode {mode!r} is not supported; use one of {sorted(CHANNELS)}")
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"unknown interpolation {interpolation!r}; use one of {sorted(INTERPOLATIONS)}")
    image = _flatten_alpha(image)
    if image.mode != mode:
        image = image.convert(mode)
    if size is not None:
        height, width = (int(s) for s in size)
        if image.size != (width, height):
            image = image.resize((width, height), resample=INTERPOLATIONS[interpolation])
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def read_image(path: Path, mode: str, size: Sequence[int] | None, interpolation: str = "area") -> np.ndarray:
    """One file -> uint8 array (C, H, W) in `mode`, resized to `size` = (H, W) when given."""
    return decode(open_image(path), mode, size, interpolation)


def read_images(
    paths: Sequence[Path], mode: str, size: Sequence[int] | None, interpolation: str = "area"
) -> torch.Tensor:
    """Many files -> one uint8 tensor (N, C, H, W); all files must end up the same size."""
    channels = CHANNELS.get(mode, 0)
    if not paths:
        return torch.empty((0, channels, *(size or (0, 0))), dtype=torch.uint8)
    # Pillow decodes without holding the GIL: threads read many small files faster, in the same order.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(lambda p: read_image(p, mode, size, interpolation), paths))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(
            f"images of different sizes {sorted(shapes)[:3]} under {Path(paths[0]).parent}; "
            f"set dataset.source.image_size so that every image is resized to one size."
        )
    return torch.from_numpy(np.stack(arrays))
