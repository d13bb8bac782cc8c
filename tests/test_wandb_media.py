"""Images in the run's own W&B run: reconstructions during training, the ROC curve and the score histogram."""

from __future__ import annotations

import torch
from conftest import TINY, run_train

from arae.analysis.plotting import WANDB_RUN_DIR, wandb_run_of
from arae.training.wandb_media import pick_images, reconstruction_grid


def test_training_logs_reconstructions_roc_and_histograms_into_its_offline_run(fake_root, tmp_path):
    args = [*TINY, "logger=wandb", "normal_class=2", "callbacks.wandb_media.every_n_epochs=1",
            "callbacks.wandb_media.per_class=3"]
    proc = run_train(args, fake_root, tmp_path, env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = sorted(tmp_path.rglob("results.json"))
    (run,) = (path.parent / "wandb").glob("offline-run-*")
    images = sorted(p.name for p in (run / "files" / "media" / "images").rglob("*.png"))
    for key in ("reconstructions_normal", "reconstructions_anomalous", "roc", "score_histogram"):
        assert any(name.startswith(key) for name in images), (key, images)
    assert sum(name.startswith("reconstructions_normal") for name in images) == 2  # epochs 1 and 2
    (log,) = run.glob("*.wandb")
    data = log.read_bytes()
    assert b"scores/normal" in data and b"scores/anomalous" in data


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
