"""train.py driven through Hydra as a user runs it, on tiny fake data in the real IDX format."""

import json

import pytest
from conftest import TINY, run_train


def results_files(cwd):
    return sorted(cwd.rglob("results.json"))


def test_default_run_writes_results(fake_root, tmp_path):
    proc = run_train([*TINY, "normal_class=1", "logger=csv"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = results_files(tmp_path)
    results = json.loads(path.read_text())
    assert results["status"] == "completed"
    assert results["dataset"] == "mnist" and results["normal_classes"] == [1] and results["attack"] == "linf"
    assert results["epochs"] == 2 and len(results["val_auroc_history"]) == 2
    assert 0.0 <= results["test"]["auroc"] <= 1.0
    assert results["auroc_last_k"]["k"] == 2
    assert results["seconds_per_epoch"] > 0
    assert results["run_name"] == "linf-mnist-c1-s0"
    assert (path.parent / "csv" / "metrics.csv").exists()
    assert "test AUROC" in proc.stdout
    assert not list(tmp_path.rglob("*.ckpt"))  # callbacks.checkpoint=null (TINY): not even Lightning's default one


def test_fake_data_is_learnable(fake_root, tmp_path):
    proc = run_train([*TINY, "trainer.max_epochs=8", "normal_class=3", "dataset=fashion_mnist"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = results_files(tmp_path)
    assert json.loads(path.read_text())["test"]["auroc"] > 0.9


def test_same_seed_same_auroc(fake_root, tmp_path):
    aurocs = []
    for i in range(2):
        cwd = tmp_path / str(i)
        cwd.mkdir()
        proc = run_train([*TINY, "seed=3"], fake_root, cwd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (path,) = results_files(cwd)
        aurocs.append(json.loads(path.read_text())["val_auroc_history"])
    assert aurocs[0] == aurocs[1]


@pytest.mark.parametrize("override, message", [("dataset=mnsit", "dataset/mnsit"), ("attack=lnf", "attack/lnf")])
def test_unknown_config_names_are_reported_by_hydra(fake_root, tmp_path, override, message):
    proc = run_train([*TINY, override], fake_root, tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr and "Available options" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_data_without_network(tmp_path):
    proc = run_train([*TINY, "dataset.source.download=false"], tmp_path / "nowhere", tmp_path)
    assert proc.returncode == 2
    assert "MNIST is missing" in proc.stderr or "mnist is missing" in proc.stderr
    assert "ARAE_DATA_DIR" in proc.stderr and "Traceback" not in proc.stderr


def test_truncated_idx_file_stops_the_run(fake_root, tmp_path):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(fake_root / "MNIST", root / "MNIST")
    images = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:5000])
    proc = run_train(TINY, root, tmp_path)
    assert proc.returncode == 2
    assert "truncated" in proc.stderr and "train-images-idx3-ubyte" in proc.stderr


def test_multirun_gives_one_result_per_job(fake_root, tmp_path):
    proc = run_train(["-m", *TINY, "trainer.max_epochs=1", "normal_class=1,'[4,5]'"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = results_files(tmp_path / "multirun_outputs")
    assert len(files) == 2
    runs = {json.loads(f.read_text())["run_name"] for f in files}
    assert runs == {"linf-mnist-c1-s0", "linf-mnist-c4_5-s0"}


def test_wandb_logger_runs_offline_and_finishes(fake_root, tmp_path):
    args = [*TINY, "trainer.max_epochs=1", "logger=wandb", "normal_class=2"]
    proc = run_train(args, fake_root, tmp_path, env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = results_files(tmp_path)
    assert len(list((path.parent / "wandb").glob("offline-run-*"))) == 1
    assert (path.parent / "csv" / "metrics.csv").exists()  # CSV is kept beside W&B


def test_results_json_is_readable_like_any_new_file(tmp_path):
    import os

    from arae.results import write_json_atomic

    path = write_json_atomic(tmp_path / "results.json", {"status": "completed", "auroc": float("nan")})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert json.loads(path.read_text()) == {"status": "completed", "auroc": None}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left behind


def test_a_path_in_an_override_names_one_folder():
    from arae.config import folder_name

    name = folder_name("dataset.source.path=/my/images,seed=1")
    assert "/" not in name and name == "dataset.source.path=%2Fmy%2Fimages,seed=1"
    assert folder_name("a=x/y") != folder_name("a=x%2Fy")  # the escape is itself escaped: no two settings meet


def test_a_sweep_over_a_folder_data_set_keeps_one_folder_per_job(image_root, fake_root, tmp_path):
    path = image_root / "cifar10-jpg"
    args = ["-m", *TINY, "trainer.max_epochs=1", "dataset=folder", "dataset.source.image_size=8",
            f"dataset.source.path={path}", "normal_class=1,2", "hydra.sweep.dir=sweep"]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = sorted(p.relative_to(tmp_path / "sweep") for p in (tmp_path / "sweep").rglob("results.json"))
    assert len(found) == 2 and all(len(p.parts) == 3 for p in found), found  # <run name>/<settings>/results.json


def test_deterministic_kernels_without_filling_fresh_memory(tmp_path, monkeypatch):
    """trainer.deterministic keeps torch's deterministic kernels but not its NaN fill of every new tensor."""
    import torch
    from omegaconf import OmegaConf

    from arae.pipeline import make_trainer
    from arae.training.checkpointing import AtomicCheckpointIO

    monkeypatch.setattr(torch.utils.deterministic, "fill_uninitialized_memory", True)
    was = torch.are_deterministic_algorithms_enabled()
    cfg = OmegaConf.create({"trainer": {"_target_": "pytorch_lightning.Trainer", "accelerator": "cpu", "devices": 1,
                                        "deterministic": True, "enable_progress_bar": False,
                                        "enable_model_summary": False}})
    try:
        make_trainer(cfg, [], [], tmp_path, AtomicCheckpointIO())
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.utils.deterministic.fill_uninitialized_memory
    finally:
        torch.use_deterministic_algorithms(was)
