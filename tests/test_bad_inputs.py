"""Bad input as a new user would type it: one clear message, a non-zero exit and no traceback (or, where the
docs promise it, the input handled correctly). docs/troubleshooting.md lists the cases."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, TINY, data_source, run_train
from fakeimages import write_coil

from arae.detector.cli import main as score_main

ONE_EPOCH = [*TINY, "trainer.max_epochs=1", "num_threads=1"]


def results_of(root):
    return [json.loads(p.read_text()) for p in sorted(root.rglob("results.json"))]


def assert_clean_failure(proc, message):
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert message in " ".join(proc.stderr.split()), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "override, message",
    [
        ("dataset.batch_size=0", "dataset.batch_size=0 must be a whole number of at least 1"),
        ("seed=-5", "seed=-5 must be a whole number from 0 to 4294967295"),
        ("optimizer.lr=-1", "optimizer.lr=-1 must be a number above 0"),
        ("last_k=0", "last_k=0 must be a whole number of at least 1"),
        ("last_k=-3", "last_k=-3 must be a whole number of at least 1"),
        ("normal_class=true", "normal_class True is not a class index for mnist"),
        ("normal_class=[8.7]", "normal_class 8.7 is not a class index for mnist"),
        ("normal_class=8.5", "normal_class 8.5 is not a class index for mnist"),
        ("normal_class=null", "normal_class is not set (null) for mnist"),
        ("protocol=p1 protocol.tau=1", "protocol.tau=1.0 must lie strictly between 0 and 1"),
        ("normal_class=12", "normal_class 12 does not exist in mnist"),
        ("normal_class=[]", "normal_class is empty"),
        ("normal_class=-1", "normal_class -1 does not exist"),
        ("dataset.epsilon=0", "epsilon (L-inf radius) must be > 0"),
        ("dataset.epsilon=-0.1", "must be > 0"),
        ("trainer.devices=2", "one run trains on one device"),
        ("trainer.max_epochs=0", "trainer.max_epochs must be a whole number of epochs >= 1, got 0"),
    ],
)
def test_bad_setting_stops_with_one_message(fake_root, tmp_path, override, message):
    """Before training: one results.json (one process, so no second rank set anything aside), no checkpoint."""
    proc = run_train([*ONE_EPOCH, *override.split()], fake_root, tmp_path)
    assert_clean_failure(proc, message)
    (result,) = results_of(tmp_path)
    assert result["status"] == "failed" and result["user_error"]
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.fixture()
def folder_data(image_root, tmp_path):
    """A copy of the fake CIFAR-10 image folder that a test may damage."""
    return shutil.copytree(image_root / "cifar10-jpg", tmp_path / "images")


FOLDER = ["dataset=folder", "dataset.source.image_size=8", "normal_class=1"]


def test_folder_whose_test_split_lacks_the_normal_class(folder_data, fake_root, tmp_path):
    shutil.rmtree(folder_data / "test" / "automobile")
    proc = run_train([*ONE_EPOCH, *FOLDER, f"dataset.source.path={folder_data}"], fake_root, tmp_path)
    assert_clean_failure(proc, "the test split of folder has no images of normal class 1 (automobile)")


def test_empty_normal_class_folder(folder_data, fake_root, tmp_path):
    for image in (folder_data / "train" / "automobile").iterdir():
        image.unlink()
    proc = run_train([*ONE_EPOCH, *FOLDER, f"dataset.source.path={folder_data}"], fake_root, tmp_path)
    assert_clean_failure(proc, "the training split of folder has no images of normal class 1 (automobile)")


def test_coil100_honours_a_normal_class_from_the_command_line(fake_root, tmp_path):
    write_coil(tmp_path / "data")
    args = [*ONE_EPOCH, "dataset=coil100", "dataset.source.image_size=8", "normal_class=3"]
    proc = run_train(args, tmp_path / "data", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = results_of(tmp_path / "outputs")
    assert result["normal_classes"] == [3] and result["run_name"] == "linf-coil100-c3-s0"
    assert result["config"]["protocol"]["n_normal"] is None


def test_coil100_without_a_normal_class_still_draws_one(fake_root, tmp_path):
    write_coil(tmp_path / "data")
    proc = run_train([*ONE_EPOCH, "dataset=coil100", "dataset.source.image_size=8", "--cfg", "job", "--resolve"],
                     tmp_path / "data", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "n_normal: 1" in proc.stdout and "run_name: linf-coil100-n1-s0" in proc.stdout


def test_multirun_with_a_user_error_runs_the_others_without_traceback(fake_root, tmp_path):
    proc = run_train(["-m", *ONE_EPOCH, "normal_class=12,1"], fake_root, tmp_path)
    assert proc.returncode != 0
    assert "normal_class 12 does not exist in mnist" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    status = {r["run_name"]: r["status"] for r in results_of(tmp_path / "multirun_outputs")}
    assert status == {"linf-mnist-c12-s0": "failed", "linf-mnist-c1-s0": "completed"}


def sweep(fake_root, cwd, *overrides):
    return run_train(["-m", *ONE_EPOCH, "hydra.sweep.dir=sweep", *overrides], fake_root, cwd)


def mtimes(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("results.json")}


def test_rerun_with_other_num_threads_resumes(fake_root, tmp_path):
    assert sweep(fake_root, tmp_path, "normal_class=1").returncode == 0
    before = mtimes(tmp_path / "sweep")
    proc = sweep(fake_root, tmp_path, "normal_class=1", "num_threads=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipped linf-mnist-c1-s0" in proc.stdout and mtimes(tmp_path / "sweep") == before


def test_rerun_with_other_class_list_or_order_resumes(fake_root, tmp_path):
    assert sweep(fake_root, tmp_path, "normal_class=1,2").returncode == 0
    before = mtimes(tmp_path / "sweep")
    proc = sweep(fake_root, tmp_path, "normal_class=3,2,1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipped linf-mnist-c1-s0" in proc.stdout and "skipped linf-mnist-c2-s0" in proc.stdout
    after = mtimes(tmp_path / "sweep")
    assert {p: after[p] for p in before} == before and len(after) == 3


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WANDB_API_KEY": "0" * 40}, "WANDB_MODE=online but the W&B server http://127.0.0.1:9 cannot be reached"),
        ({"WANDB_API_KEY": ""}, "WANDB_MODE=online but no W&B API key is set for 127.0.0.1"),
    ],
)
def test_wandb_online_without_key_or_network_fails_fast(fake_root, tmp_path, env, message):
    env = {"WANDB_MODE": "online", "WANDB_BASE_URL": "http://127.0.0.1:9", "HOME": str(tmp_path),
           "NETRC": str(tmp_path / "no-netrc"), **env}
    proc = run_train([*ONE_EPOCH, "logger=wandb"], fake_root, tmp_path, timeout=120, env=env)
    assert_clean_failure(proc, message)


@pytest.fixture()
def checkpoint(runs):
    return runs["a"]


def image_file(fake_root, tmp_path):
    from PIL import Image


    images, _ = data_source("mnist", root=fake_root, download=False).split(False)
    Image.fromarray(images[0, 0].numpy()).save(tmp_path / "x.png")
    return tmp_path / "x.png"


def test_arae_score_csv_folder(checkpoint, fake_root, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        score_main([str(checkpoint), str(image_file(fake_root, tmp_path)), "--csv", str(tmp_path)])
    assert stop.value.code == 2
    assert f"{tmp_path} is a folder; give a file name" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_arae_score_threshold_must_be_finite(checkpoint, fake_root, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stop:
        score_main([str(checkpoint), str(image_file(fake_root, tmp_path)), f"--threshold={value}"])
    assert stop.value.code == 2
    assert f"'{value}' is not a finite number" in capsys.readouterr().err


def test_arae_score_png_as_checkpoint(fake_root, tmp_path, capsys):
    png = image_file(fake_root, tmp_path)
    assert score_main([str(png), str(png), "--csv", str(tmp_path / "s.csv")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "it is not a checkpoint written by arae's train.py" in err
    assert "weights_only" not in err and not (tmp_path / "s.csv").exists()


def test_arae_report_on_an_empty_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "arae.report", str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "no runs under" in proc.stderr and "Nothing was written" in proc.stderr
    assert "wrote" not in proc.stdout and list(tmp_path.iterdir()) == []
