"""A detector reads a file exactly as training read it: one reader (arae.data.images) for both."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import data_source, mlp, protocol_config
from PIL import Image

from arae.data.protocols import to_unit
from arae.detector import Detector


def write_files(folder):
    """Awkward files: half-transparent PNG, EXIF-rotated JPEG (Orientation 6: turn 90 degrees), 16-bit PNG."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    Image.fromarray(rgba, "RGBA").save(folder / "half_transparent.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(folder / "rotated.jpg", exif=exif)
    deep = (np.arange(24 * 32).reshape(24, 32) * 85).astype(np.uint16)
    Image.fromarray(deep).save(folder / "deep.png")
    return ["half_transparent.png", "rotated.jpg", "deep.png"]


def folder_data(tmp_path):
    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
    names = write_files(tmp_path / "test" / "a")
    for name in names:
        (tmp_path / "train" / "b" / name).write_bytes((tmp_path / "test" / "a" / name).read_bytes())
    return [tmp_path / "test" / "a" / n for n in sorted(names)]


def detector_for(shape, interpolation):
    net = mlp(shape, hidden_dims=[8])
    config = {"dataset": {"source": {"interpolation": interpolation}}, "protocol": protocol_config("p2")}
    return Detector(net, threshold=0.0, metadata={"image_shape": list(shape), "config": config})


@pytest.mark.parametrize("mode, interpolation", [("RGB", "area"), ("L", "bilinear")])
def test_training_and_scoring_give_the_same_tensor(tmp_path, mode, interpolation):
    files = folder_data(tmp_path)
    source = data_source("folder", path=tmp_path, image_size=[16, 12], mode=mode, interpolation=interpolation)
    trained_on, _ = source.split(train=False)  # the files of class a, sorted by name as `files` is
    detector = detector_for(tuple(trained_on.shape[1:]), interpolation)
    scored, notes = detector.load(files)
    assert torch.equal(scored, to_unit(trained_on))
    pictures = [Image.open(f) for f in files]
    assert torch.equal(detector.prepare(pictures), to_unit(trained_on))  # PIL images take the same path
    assert all(notes)  # every file was converted and resized, and says so


def test_the_awkward_files_are_read_as_a_viewer_shows_them(tmp_path):
    files = dict(zip(("deep", "half_transparent", "rotated"), folder_data(tmp_path)))
    detector = detector_for((3, 40, 24), "area")
    images, notes = detector.load([files["rotated"], files["half_transparent"], files["deep"]])
    assert notes[0] == ""  # 40 wide x 24 high turned upright: 24 x 40, the detector's size
    assert abs(float(images[1, 0].mean()) * 255 - 100) < 1.5  # red 200 at half opacity over black
    assert float(images[2].max()) > 0  # 16-bit grey, scaled by its depth rather than refused
