"""Robustness under attack (Table 5) and the figures (1, 5, 6, 7) from checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from detector_runs import shared_runs

from arae.analysis.cli import main as analyze
from arae.analysis.minima import descend
from arae.analysis.occlusion import occlusion_map
from arae.analysis.robustness import attacked_normals, reconstruction_attack
from arae.detector.calibration import scores_of
from arae.models import MLPAutoencoder

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def runs(fake_root, tmp_path_factory):
    return shared_runs(fake_root, tmp_path_factory)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MLPAutoencoder(image_shape=(1, 8, 8), hidden_dims=(32, 16)).eval()


@pytest.mark.parametrize("eps", [0.05, 0.1])
def test_attack_raises_the_error_of_normals_and_keeps_its_bound(net, eps):
    torch.manual_seed(1)
    images = torch.rand(40, 1, 8, 8)
    labels = torch.tensor([0, 1] * 20)
    attacked = attacked_normals(net, images, labels, reconstruction_attack(eps, steps=10))
    normal = labels == 0
    assert torch.equal(attacked[~normal], images[~normal])  # anomalies stay clean
    delta = attacked[normal] - images[normal]
    assert delta.abs().max() <= eps + 1e-6 and attacked.min() >= 0 and attacked.max() <= 1
    assert (scores_of(net, attacked[normal]) > scores_of(net, images[normal])).all()


def test_attack_works_inside_inference_mode(net):
    """Lightning's test/predict loops run under inference mode, where enable_grad alone is not enough."""
    with torch.inference_mode():
        images = torch.rand(8, 1, 8, 8)
        attacked = attacked_normals(net, images, torch.zeros(8, dtype=torch.long), reconstruction_attack(0.1, steps=5))
    assert (scores_of(net, attacked) > scores_of(net, images)).all()


def test_occlusion_map_has_the_image_shape_and_is_zero_on_black_pixels(net):
    image = torch.rand(1, 8, 8)
    image[:, :3] = 0.0  # black rows: occluding them changes nothing
    saliency = occlusion_map(net, image)
    assert saliency.shape == image.shape[-2:]
    assert torch.all(saliency[:3] == 0)
    assert torch.all(saliency[3:] != 0)
    # one entry by hand: the change of the error when pixel (5, 2) is blacked out
    occluded = image.clone()
    occluded[:, 5, 2] = 0
    expected = scores_of(net, occluded[None])[0] - scores_of(net, image[None])[0]
    assert torch.isclose(saliency[5, 2], expected)


def test_local_minima_descend_the_error(net):
    start = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    end = descend(net, start, steps=30, lr=0.05)
    assert end.min() >= 0 and end.max() <= 1
    assert (scores_of(net, end) < scores_of(net, start)).all()


def is_png(path):
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "command, extra, output",
    [
        ("reconstructions", ["--n-normal", "3", "--n-anomalous", "3"], "figure1_reconstructions.png"),
        ("occlusion", ["--n-images", "2"], "figure6_occlusion.png"),
        ("minima", ["--starts", "3", "--descent-steps", "5"], "figure7_local_minima.png"),
    ],
)
def test_figure_commands_write_a_png(runs, fake_root, tmp_path, command, extra, output):
    ckpts = [str(runs["a"]), str(runs["b"] / "checkpoints" / "last.ckpt")]
    args = [command, *ckpts, "--names", "one", "two", "--data-root", str(fake_root), "--out", str(tmp_path), *extra]
    assert analyze(args) == 0
    assert is_png(tmp_path / output)


def test_fpr_figure_from_results_files_logged_to_wandb(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "60")
    assert analyze(["fpr", str(runs["a"].parent), "--out", str(tmp_path), "--wandb"]) == 0
    assert is_png(tmp_path / "figure5_fpr.png")
    assert "ARAE,8," in (tmp_path / "figure5_fpr.csv").read_text()
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    assert list(run.glob("*.wandb"))  # the offline run's log, to be synced later


def test_robustness_command_reports_auroc_before_and_after(runs, fake_root, tmp_path):
    args = ["robustness", str(runs["a"]), "--data-root", str(fake_root), "--out", str(tmp_path), "--steps", "5"]
    assert analyze(args) == 0
    report = json.loads((tmp_path / "robustness.json").read_text())
    (model,) = report["models"]
    rows = model["results"]
    assert list(rows) == ["clean", "eps=0.05", "eps=0.1"]
    assert rows["clean"]["normal_score"] < rows["eps=0.05"]["normal_score"] < rows["eps=0.1"]["normal_score"]
    assert all(0 <= r["auroc"] <= 1 for r in rows.values())


def test_analysis_refuses_models_of_different_classes(net):
    from arae.analysis.data import same_split
    from arae.detector import Detector
    from arae.errors import DataError

    meta = {"dataset": "mnist", "normal_classes": [8], "image_shape": [1, 8, 8]}
    same_split([Detector(net, 1.0, meta), Detector(net, 2.0, dict(meta))])
    with pytest.raises(DataError, match="different data/normal classes"):
        same_split([Detector(net, 1.0, meta), Detector(net, 1.0, {**meta, "normal_classes": [3]})])
