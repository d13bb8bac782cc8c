"""Image files -> uint8 tensors: deterministic mode conversion, area resizing, clear errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from arae.data.images import read_image, read_images
from arae.errors import DataError


def test_rgba_is_composited_over_black(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 128  # half transparent red
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", "RGB", None)
    assert out.shape == (3, 4, 4)
    assert abs(int(out[0, 0, 0]) - 100) <= 1 and out[1].max() == 0 and out[2].max() == 0


def test_palette_and_grey_modes_give_the_same_pixels_every_time(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "l.png")
    first = read_image(tmp_path / "p.png", "RGB", None)
    assert np.array_equal(first, read_image(tmp_path / "p.png", "RGB", None))
    grey = read_image(tmp_path / "l.png", "RGB", None)
    assert grey.shape == (3, 6, 6) and np.array_equal(grey[0], rgb[..., 0]) and np.array_equal(grey[0], grey[2])
    assert read_image(tmp_path / "l.png", "L", None).shape == (1, 6, 6)


def test_sixteen_bit_grey_is_scaled_by_its_depth(tmp_path):
    array = np.full((4, 4), 65535, dtype=np.uint16)
    array[0, 0] = 0
    Image.fromarray(array).save(tmp_path / "deep.png")
    out = read_image(tmp_path / "deep.png", "L", None)
    assert out[0, 1, 1] == 255 and out[0, 0, 0] == 0


def test_area_resize_averages_blocks(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (128, 128, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "big.png")
    out = read_image(tmp_path / "big.png", "RGB", (32, 32), "area").astype(np.float64)
    blocks = rgb.reshape(32, 4, 32, 4, 3).mean(axis=(1, 3)).transpose(2, 0, 1)
    assert np.abs(out - blocks).max() <= 1.0


def test_unreadable_file_is_named(tmp_path):
    bad = tmp_path / "broken image.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match="cannot read image") as info:
        read_image(bad, "RGB", (8, 8))
    assert str(bad) in str(info.value)


def test_truncated_jpeg_is_named(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 90).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError) as info:
        read_images([path], "RGB", (16, 16))
    assert "cut.jpg" in str(info.value)


def test_sizes_must_agree_without_image_size(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    Image.new("RGB", (9, 8)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match="image_size"):
        read_images([tmp_path / "a.png", tmp_path / "b.png"], "RGB", None)
    assert read_images([tmp_path / "a.png", tmp_path / "b.png"], "RGB", (4, 4)).dtype == torch.uint8
