"""Bad input as a new user would type it: one clear message, a non-zero exit and no traceback (or, where the
docs promise it, the input handled correctly). docs/troubleshooting.md lists the cases."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

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
        ("dataset.epsilon=0", "dataset.epsilon=0 must be a number above 0 and below 1"),
        ("dataset.epsilon=-0.1", "dataset.epsilon=-0.1 must be a number above 0 and below 1"),
        ("dataset.epsilon=nan", "dataset.epsilon=nan is not a number"),
        ("dataset.epsilon=1e9", "from 1 on the ball holds every image"),
        ("dataset.epsilon=1", "dataset.epsilon=1 must be a number above 0 and below 1"),
        ("attack.adversary.ball.eps=2", "attack.adversary.ball.eps=2 must be a number above 0 and below 1"),
        ("dataset.pgd_steps=2.5", "dataset.pgd_steps=2.5 must be a whole number of at least 1"),
        ("attack=l2 attack.adversary.steps=2.5", "attack.adversary.steps=2.5 must be a whole number of at least 1"),
        ("eval_every_n_epochs=1.5", "eval_every_n_epochs=1.5 must be a whole number of at least 1"),
        ("attack.adversary.step_size=nan", "attack.adversary.step_size=nan is not a number"),
        ("detector.normal_tpr=nan", "detector.normal_tpr=nan is not a number"),
        ("optimizer.lr=nan", "optimizer.lr=nan is not a number"),
        ("num_threads=100000", "num_threads=100000 must be a whole number from 1 to"),
        ("num_threads=1.5", "num_threads=1.5 must be a whole number from 1 to"),
        ("attack.gamma=-1", "attack.gamma=-1 must be a number >= 0"),
        ("attack.gamma=nan", "attack.gamma=nan is not a number"),
        ("+trainer.max_epoch=3", "trainer.max_epoch is not a setting of Lightning's Trainer; did you mean trainer.max_epochs?"),
        ("protocol=p1 protocol.tau=half", "protocol.tau=half must be a number between 0 and 1"),
        ("protocol=p1 protocol.tau=0.9999", "protocol.tau=0.9999 leaves 0 anomalies in the test split"),
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


def test_arae_score_negative_threshold(checkpoint, fake_root, tmp_path, capsys):
    """Scores are sums of squares: below 0, every image would be an anomaly."""
    with pytest.raises(SystemExit) as stop:
        score_main([str(checkpoint), str(image_file(fake_root, tmp_path)), "--threshold", "-1"])
    assert stop.value.code == 2
    assert "'-1' is below 0; scores are >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_arae_score_csv_not_writable_stops_before_scoring(checkpoint, fake_root, tmp_path, capsys, monkeypatch, where):
    import arae.detector.cli as cli

    if where == "under_a_file":
        (tmp_path / "file.txt").write_text("")
        target = tmp_path / "file.txt" / "scores.csv"
    else:
        target = Path("/proc/arae-scores.csv")  # no one may create files there, root included
    monkeypatch.setattr(cli, "score_files", lambda args: pytest.fail("scored before checking the CSV path"))
    assert score_main([str(checkpoint), str(image_file(fake_root, tmp_path)), "--csv", str(target)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"cannot write to {target.parent}" in err and f"(not {target})" in err and "Traceback" not in err


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


@pytest.mark.parametrize("where", ["under_a_file", "new_in_proc", "proc"])
def test_run_folder_that_takes_no_files_is_named(fake_root, tmp_path, where):
    """A read-only file system says so the same way (EROFS instead of ENOTDIR or ENOENT)."""
    (tmp_path / "file.txt").write_text("")
    folder = {"under_a_file": tmp_path / "file.txt" / "run", "new_in_proc": Path("/proc/arae-run"),
              "proc": Path("/proc")}[where]
    proc = run_train([*ONE_EPOCH, f"hydra.run.dir={folder}"], fake_root, tmp_path)
    assert_clean_failure(proc, f"cannot write to {folder}")
    assert "hydra.run.dir" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_sweep_folder_that_takes_no_files_is_named(fake_root, tmp_path):
    (tmp_path / "file.txt").write_text("")
    proc = run_train(["-m", *ONE_EPOCH, f"hydra.sweep.dir={tmp_path / 'file.txt' / 'sweep'}", "normal_class=1,2"],
                     fake_root, tmp_path)
    assert_clean_failure(proc, f"cannot write to {tmp_path / 'file.txt' / 'sweep'}")
    assert "hydra.sweep.dir" in proc.stderr


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=ensemble"]])
def test_a_sweep_of_no_jobs_says_so(fake_root, tmp_path, launcher):
    proc = run_train(["-m", *ONE_EPOCH, *launcher, "seed=range(0)", "normal_class=1,2"], fake_root, tmp_path)
    assert_clean_failure(proc, "the sweep has 0 jobs: seed=range(0) gives no value")
    assert not (tmp_path / "multirun_outputs").exists()


def test_a_split_too_small_for_an_auroc_is_named(folder_data, fake_root, tmp_path):
    for split in ("train", "test"):
        for class_folder in (folder_data / split).iterdir():
            for image in sorted(class_folder.iterdir())[1:]:
                image.unlink()
    proc = run_train([*ONE_EPOCH, *FOLDER, f"dataset.source.path={folder_data}"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    message = "1 training image, 1 normal and 9 anomalous test images"
    assert message in " ".join((proc.stdout + proc.stderr).split())
    (result,) = results_of(tmp_path / "outputs")
    assert any(message in note for note in result["data_notes"])
