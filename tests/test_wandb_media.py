"""Images in the run's own W&B run: reconstructions during training, the ROC curve and the score histogram."""

from __future__ import annotations

import base64
import csv
import hashlib
import json

import numpy as np
import pytest
import torch
from conftest import TINY, run_train
from PIL import Image
from wandb_records import artifacts, history

from arae.analysis.plotting import WANDB_RUN_DIR, wandb_run_of
from arae.training.wandb_media import as_uint8, pick_images, reconstruction_grid

WANDB_ENV = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def _wandb_env(tmp_path) -> dict:
    """Offline, with W&B's own folders (artifact staging, cache, settings) kept under the test's folder."""
    return {**WANDB_ENV, **{k: str(tmp_path / k.lower()) for k in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR")}}


def _offline_run(tmp_path):
    (path,) = sorted(tmp_path.rglob("results.json"))
    (run,) = (path.parent / "wandb").glob("offline-run-*")
    return path.parent, run


def test_training_logs_reconstructions_roc_and_histograms_into_its_offline_run(fake_root, tmp_path):
    args = [*TINY, "logger=wandb", "normal_class=2", "callbacks.wandb_media.every_n_epochs=1",
            "callbacks.wandb_media.per_class=3"]
    proc = run_train(args, fake_root, tmp_path, env=_wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder, run = _offline_run(tmp_path)
    images = sorted(p.name for p in (run / "files" / "media" / "images").rglob("*.png"))
    for key in ("reconstructions_normal", "reconstructions_anomalous", "roc", "score_histogram"):
        assert any(name.startswith(key) for name in images), (key, images)
    assert sum(name.startswith("reconstructions_normal") for name in images) == 2  # epochs 1 and 2
    rows = history(run)
    final = next(r for r in rows if "scores/normal" in r)
    assert "scores/anomalous" in final and final["epoch"] == 2

    # The ROC curve also as an interactive chart: a W&B table of the curve's points.
    chart = next(r["media/roc_curve_table"] for r in rows if "media/roc_curve_table" in r)
    table = json.loads((run / "files" / chart["path"]).read_text())
    assert table["columns"] == ["false positive rate", "true positive rate"]
    assert table["data"][0] == [0.0, 0.0] and table["data"][-1] == [1.0, 1.0]


def test_logged_reconstructions_show_their_epoch_in_its_pixels(fake_root, tmp_path):
    """The PNG W&B stores shows the inputs as they are: a bright bar is bright (not 0 or 1 of 255), at the
    step and epoch (1…N) of the epoch it shows, as metrics.csv counts them."""
    args = [*TINY, "logger=wandb", "normal_class=2", "callbacks.wandb_media.every_n_epochs=1",
            "callbacks.wandb_media.per_class=2", "eval_every_n_epochs=1"]
    proc = run_train(args, fake_root, tmp_path, env=_wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder, run = _offline_run(tmp_path)
    logged = [r for r in history(run) if "media/reconstructions_normal" in r]
    assert [r["epoch"] for r in logged] == [1, 2]
    for row in logged:
        assert row["media/reconstructions_normal"]["caption"].startswith(f"epoch {row['epoch']}:")
    metrics = list(csv.DictReader((folder / "csv" / "metrics.csv").open()))
    step_of_epoch = {int(float(m["epoch"])): int(m["step"]) for m in metrics if m.get("val/auroc")}
    assert {r["epoch"]: r["trainer/global_step"] for r in logged} == step_of_epoch

    png = np.asarray(Image.open(run / "files" / logged[-1]["media/reconstructions_normal"]["path"]).convert("L"))
    # The first input sits at rows and columns 2..29 (2-pixel padding); a class-2 image of tests/fakedata.py
    # lights its rows 5-6 at 220 over noise below 40.
    first = png[2:30, 2:30].astype(int)
    assert first[5:7].mean() > 200 and first[12:20, 12:20].mean() < 60


def test_the_final_checkpoint_becomes_a_model_artifact_only_when_asked(fake_root, tmp_path):
    args = [a for a in TINY if a != "callbacks.checkpoint=null"] + ["logger=wandb", "trainer.max_epochs=1"]
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    proc = run_train([*args, "logger.wandb.log_model=true"], fake_root, tmp_path / "on", env=_wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder, run = _offline_run(tmp_path / "on")
    (artifact,) = [a for a in artifacts(run) if a.type == "model"]
    assert artifact.type == "model" and artifact.name == f"model-{WANDB_RUN_DIR.fullmatch(run.name)['id']}"
    assert [entry.path for entry in artifact.manifest.contents] == ["last.ckpt"]

    proc = run_train(args, fake_root, tmp_path / "off", env=_wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [a for a in artifacts(_offline_run(tmp_path / "off")[1]) if a.type == "model"] == []


@pytest.mark.slow
def test_each_ensemble_member_logs_its_own_checkpoint_as_its_model_artifact(fake_root, tmp_path):
    args = [a for a in TINY if a != "callbacks.checkpoint=null"] + ["logger=wandb", "trainer.max_epochs=1"]
    proc = run_train(["-m", *args, "logger.wandb.log_model=true", "seed=0,1", "hydra/launcher=ensemble",
                      "hydra.sweep.dir=sweep"], fake_root, tmp_path, env=_wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    folders = sorted(p.parent for p in (tmp_path / "sweep").rglob("results.json"))
    assert len(folders) == 2
    for folder in folders:
        (run,) = (folder / "wandb").glob("offline-run-*")
        (artifact,) = [a for a in artifacts(run) if a.type == "model"]
        (entry,) = artifact.manifest.contents
        (checkpoint,) = folder.rglob("last.ckpt")
        assert entry.digest == base64.b64encode(hashlib.md5(checkpoint.read_bytes()).digest()).decode()


def test_a_run_without_wandb_logs_no_media(fake_root, tmp_path):
    proc = run_train([*TINY, "callbacks.wandb_media.every_n_epochs=1"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = sorted(tmp_path.rglob("results.json"))
    assert not (path.parent / "wandb").exists()


def test_the_same_images_are_picked_every_time_and_drawn_above_their_reconstructions():
    x = torch.rand(10, 1, 4, 4)
    y = torch.tensor([0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
    loader = [(x[:5], y[:5]), (x[5:], y[5:])]
    normal, anomalous = pick_images(loader, per_class=3)
    assert torch.equal(normal, x[[0, 3, 4]]) and torch.equal(anomalous, x[[1, 2, 5]])
    grid = reconstruction_grid(torch.nn.Identity(), normal.flatten(1), (1, 4, 4))
    assert grid.shape == (2 + 2 * (4 + 2), 2 + 3 * (4 + 2))  # two rows of three, 2-pixel padding
    assert torch.allclose(grid[2:6, 2:6], normal[0, 0]) and torch.allclose(grid[8:12, 2:6], normal[0, 0])
    assert as_uint8(torch.tensor([[0.0, 0.5, 1.0]])).tolist() == [[0, 128, 255]]  # what wandb.Image gets


def test_analyze_logs_its_figures_into_the_run_it_analyses(fake_root, tmp_path, monkeypatch):
    from arae.analysis.cli import main as analyze

    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    args = [*TINY, "trainer.max_epochs=1", "logger=wandb", "callbacks.checkpoint.every_n_epochs=1", "normal_class=2"]
    proc = run_train([a for a in args if a != "callbacks.checkpoint=null"], fake_root, tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results,) = sorted(tmp_path.rglob("results.json"))
    folder = results.parent
    (training_run,) = (folder / "wandb").glob("offline-run-*")
    run_id = WANDB_RUN_DIR.fullmatch(training_run.name)["id"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "figures"
    ckpt = folder / "checkpoints" / "last.ckpt"
    assert analyze(["reconstructions", str(ckpt), "--data-root", str(fake_root), "--out", str(out), "--wandb"]) == 0
    runs = sorted((folder / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(WANDB_RUN_DIR.fullmatch(r.name)["id"] == run_id for r in runs)  # the same W&B run, resumed
    assert list(runs[-1].rglob("analysis/figure1_reconstructions*.png")) or list(runs[-1].rglob("figure1_reconstructions*.png"))
    assert not (out / "wandb").exists()  # no new, ungrouped run


def test_the_run_id_survives_the_suffix_wandb_adds_to_a_resumed_run_folder(tmp_path):
    """A resumed run that starts in the same second as its earlier folder gets run-<time>-<id>-1."""
    for name in ["offline-run-20261202_100917-yfp74bzp", "offline-run-20261202_100917-yfp74bzp-1", "latest-run"]:
        (tmp_path / "wandb" / name).mkdir(parents=True)
    (tmp_path / "checkpoints").mkdir()
    assert wandb_run_of(tmp_path / "checkpoints" / "last.ckpt") == (tmp_path, "yfp74bzp")
    (tmp_path / "no-wandb").mkdir()
    assert wandb_run_of(tmp_path / "no-wandb") is None
    assert wandb_run_of(tmp_path / "elsewhere.ckpt") == (tmp_path, "yfp74bzp")
