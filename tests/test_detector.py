"""Checkpoints as detectors: threshold, round trip, the Python API and `arae-score`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, conf_settings, data_source
from PIL import Image

import arae
from arae.data.protocols import to_unit
from arae.detector import ThresholdCalibration, read_checkpoint
from arae.detector.cli import main as score_main
from arae.errors import ConfigError, DataError
from arae.scoring import anomaly_metrics, quantile_threshold


def split(root, train):
    images, labels = data_source("mnist", root=root, download=False).split(train)
    return images, labels


def test_round_trip_gives_the_scores_of_training(runs, fake_root):
    """The reloaded detector reproduces the threshold (a quantile of the training normals' scores) and the
    final test AUROC that training computed with its in-memory weights, exactly."""
    results = json.loads((runs["a"] / "results.json").read_text())
    detector = arae.load_detector(runs["a"])
    images, labels = split(fake_root, train=True)
    normals = images[labels == 8]
    assert quantile_threshold(detector.score(normals), 0.95) == results["detector"]["threshold"] == detector.threshold
    test_images, test_labels = split(fake_root, train=False)
    scores = detector.score(test_images)
    assert float(anomaly_metrics(scores, (test_labels != 8).long())["auroc"]) == results["test"]["auroc"]
    again = arae.load_detector(runs["a"] / "checkpoints" / "last.ckpt")
    assert torch.equal(again.score(test_images), scores)


def test_checkpoint_holds_what_a_detector_needs(runs):
    meta, state, _ = read_checkpoint(runs["a"])
    assert meta["image_shape"] == [1, 28, 28] and meta["normal_classes"] == [8]
    assert meta["calibration"] == "training normals" and meta["normal_tpr"] == 0.95
    assert meta["model"]["_target_"] == "arae.models.MLPAutoencoder" and meta["config"]["seed"] == 0
    assert set(state) and all(not k.startswith("net.") for k in state)


def test_threshold_never_reads_the_test_split(runs):
    """Same training split, different test images and labels: the same threshold."""
    a = read_checkpoint(runs["a"])[0]["threshold"]
    b = read_checkpoint(runs["b"])[0]["threshold"]
    assert a == b
    results_b = json.loads((runs["b"] / "results.json").read_text())
    results_a = json.loads((runs["a"] / "results.json").read_text())
    assert results_a["test"]["auroc"] != results_b["test"]["auroc"]  # the test splits really differ


class CalibrationOnly:
    """A DataModule of which calibration may only ask for its calibration split (tests/test_protocols.py
    checks what the split holds)."""

    def __init__(self):
        self.asked = []

    def calibration_split(self, fraction, seed):
        self.asked.append((fraction, seed))
        return torch.ones(3, 1, 4, 4)

    def __getattr__(self, name):
        raise AssertionError(f"calibration read {name}")


def test_calibration_asks_the_datamodule_for_its_calibration_split():
    datamodule = CalibrationOnly()
    held = ThresholdCalibration(0.9, holdout_fraction=0.2).hold_out(datamodule, seed=1)
    assert torch.equal(held, torch.ones(3, 1, 4, 4)) and datamodule.asked == [(0.2, 1)]


@pytest.mark.parametrize("tpr", [0.5, 0.9, 0.95, 1.0])
def test_quantile_threshold_passes_the_target_share(tpr):
    scores = torch.rand(101, generator=torch.Generator().manual_seed(0))
    t = quantile_threshold(scores, tpr)
    assert (scores <= t).double().mean() >= tpr
    assert (scores < t).double().mean() < tpr  # the smallest such threshold


@pytest.mark.parametrize("kwargs", [{"normal_tpr": 0}, {"normal_tpr": 1.5}, {"holdout_fraction": 1.0}])
def test_bad_calibration_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError, match="detector"):
        ThresholdCalibration(**{**conf_settings("detector/default"), **kwargs})


def test_api_accepts_uint8_float_single_images_and_pil(runs, fake_root):
    detector = arae.load_detector(runs["a"])
    images, _ = split(fake_root, train=False)
    uint8 = detector.score(images[:4])
    assert torch.equal(uint8, detector.score(to_unit(images[:4])))
    assert torch.equal(uint8, detector.score(images[:4].numpy()))
    assert torch.equal(uint8[:1], detector.score(images[0]))
    pil = [Image.fromarray(x[0].numpy()) for x in images[:4]]
    assert torch.equal(uint8, detector.score(pil))
    assert torch.equal(detector.predict(images[:4]), (uint8 > detector.threshold).long())


@pytest.mark.parametrize(
    "images, message",
    [
        (torch.zeros(2, 3, 28, 28), "shape (2, 3, 28, 28) do not fit this detector, which takes (N, 1, 28, 28)"),
        (torch.zeros(2, 1, 32, 32), "do not fit"),
        (torch.full((2, 1, 28, 28), 255.0), "float images must lie in [0, 1]"),
        (torch.zeros(2, 1, 28, 28, dtype=torch.int64), "give uint8"),
    ],
)
def test_wrong_images_give_clear_errors(runs, images, message):
    detector = arae.load_detector(runs["a"])
    with pytest.raises(DataError) as err:
        detector.score(images)
    assert message in str(err.value)


def test_not_a_detector_checkpoint(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "plain.ckpt")
    with pytest.raises(DataError, match="no detector metadata"):
        arae.load_detector(tmp_path / "plain.ckpt")
    with pytest.raises(DataError, match="no checkpoint"):
        arae.load_detector(tmp_path / "missing")


def test_arae_score_writes_scores_and_verdicts(runs, fake_root, tmp_path):
    """The console script as a user runs it (a subprocess), on PNG files in a folder and one given alone."""
    detector = arae.load_detector(runs["a"])
    images, labels = split(fake_root, train=False)
    folder = tmp_path / "pngs"
    folder.mkdir()
    picks = [0, 5, 96, 100]  # classes 0, 0, 8, 8
    for i in picks:
        Image.fromarray(images[i, 0].numpy()).save(folder / f"img{i:03d}.png")
    Image.fromarray(images[100, 0].numpy()).convert("RGB").resize((56, 56)).save(tmp_path / "big_rgb.png")
    proc = subprocess.run(
        [sys.executable, "-m", "arae.detector", str(runs["a"]), str(folder), str(tmp_path / "big_rgb.png"),
         "--csv", str(tmp_path / "out.csv")],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == [f"img{i:03d}.png" for i in picks] + ["big_rgb.png"]
    expected = detector.score(images[picks])
    assert np.allclose([float(r["score"]) for r in rows[:4]], expected.numpy(), rtol=1e-5)
    assert [r["verdict"] for r in rows[:4]] == ["anomaly" if s > detector.threshold else "normal" for s in expected]
    assert rows[4]["converted"] == "RGB->L; 56x56->28x28"
    assert "5 images" in proc.stdout


def test_arae_score_scores_16_bit_images_as_docs_detector_md_says(runs, tmp_path, capsys):
    """A 16-bit PNG is scaled by its depth and scored, with a note of the conversion, and the docs say so."""
    deep = np.full((28, 28), 65535, dtype=np.uint16)
    deep[:14] = 0
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert score_main([str(runs["a"]), str(tmp_path / "deep.png"), "--csv", str(tmp_path / "x.csv"), "--quiet"]) == 0
    (row,) = csv.DictReader(open(tmp_path / "x.csv"))
    assert float(row["score"]) >= 0 and row["converted"].endswith("->L")
    docs = " ".join((REPO / "docs" / "detector.md").read_text().split())
    sentence = next(s for s in docs.split(". ") if "16-bit" in s)
    assert "refused" not in sentence and "converted" in sentence, sentence


def test_arae_score_bad_files_exit_2_with_one_message(runs, tmp_path, capsys):
    Image.fromarray(np.zeros((56, 56, 3), dtype=np.uint8)).save(tmp_path / "big_rgb.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "empty").mkdir()
    cases = [
        ([str(tmp_path / "big_rgb.png"), "--strict"], "the detector takes (N, 1, 28, 28)"),
        ([str(tmp_path / "nope.png")], "nope.png does not exist"),
        ([str(tmp_path / "broken.png")], "cannot read"),
        ([str(tmp_path / "empty")], "holds no image files"),
        ([str(tmp_path / "*.jpg")], "matches no files"),
    ]
    for args, message in cases:
        assert score_main([str(runs["a"]), *args, "--csv", str(tmp_path / "x.csv")]) == 2
        assert message in capsys.readouterr().err.replace("\n", "")
