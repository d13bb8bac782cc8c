"""A run killed or stopped mid-way continues from its checkpoint on a re-run and ends as an uninterrupted
run would; the other ways a run can end (diverged, asked for several devices or no epochs) are recorded."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, TINY, run_train

# Every epoch evaluated and checkpointed, so a kill after any epoch has something to resume from.
RESUMABLE = [
    *(o for o in TINY if not o.startswith(("callbacks.checkpoint", "trainer.max_epochs"))),
    "trainer.max_epochs=20",
    "eval_every_n_epochs=1",
    "callbacks.checkpoint.every_n_epochs=1",
    "num_threads=1",
    "seed=2",
    "normal_class=3",
]


def start_train(args, data_root, cwd):
    env = {**os.environ, "ARAE_DATA_DIR": str(data_root), "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkpoint_epoch(path) -> int:
    """Epochs trained in the checkpoint at `path` (0 while there is none)."""
    if not path.exists():
        return 0
    return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"]) + 1


def wait_for_checkpoint(proc, path, epochs: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        reached = checkpoint_epoch(path)
        if reached >= epochs:
            return reached
        time.sleep(0.02)
    raise AssertionError(f"no checkpoint of epoch {epochs} appeared; the run ended with {proc.poll()}")


def same_run(a: dict, b: dict) -> None:
    """The same training: per-epoch AUROC with its epochs, optimiser steps, test metrics, and the threshold
    (a quantile of the final weights' reconstruction errors: it moves with any difference in training)."""
    for key in ("epochs", "steps", "val_auroc_history", "val_auroc_epochs", "test", "auroc_last_50"):
        assert a[key] == b[key], key
    assert a["detector"]["threshold"] == b["detector"]["threshold"]
    assert len(a["epoch_seconds"]) == len(b["epoch_seconds"]) == a["epochs"]


@pytest.fixture(scope="module")
def uninterrupted(fake_root, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("uninterrupted")
    proc = run_train([*RESUMABLE, "hydra.run.dir=run"], fake_root, cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((cwd / "run" / "results.json").read_text())


def test_killed_run_resumes_to_the_uninterrupted_result(fake_root, tmp_path, uninterrupted):
    args = [*RESUMABLE, "hydra.run.dir=run"]
    proc = start_train(args, fake_root, tmp_path)
    killed_after = wait_for_checkpoint(proc, tmp_path / "run" / "checkpoints" / "last.ckpt", epochs=3)
    proc.kill()
    proc.communicate()
    assert killed_after < 20, "the run ended before it could be killed"

    again = run_train(args, fake_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming" in again.stdout
    resumed = json.loads((tmp_path / "run" / "results.json").read_text())
    assert resumed["status"] == "completed" and resumed["resumed_from_epoch"] >= killed_after
    same_run(resumed, uninterrupted)
    assert not (tmp_path / "run" / "previous_attempts").exists()


def test_sigterm_saves_stops_non_zero_and_resumes(fake_root, tmp_path, uninterrupted):
    args = [*RESUMABLE, "hydra.run.dir=run", "callbacks.checkpoint.every_n_epochs=5"]
    proc = start_train(args, fake_root, tmp_path)
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    wait_for_checkpoint(proc, checkpoint, epochs=5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["status"] == "interrupted"
    stopped_after = checkpoint_epoch(checkpoint)  # the epoch it was in, saved at its end whatever the cadence
    assert 5 < stopped_after < 20

    again = run_train(args, fake_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = json.loads((tmp_path / "run" / "results.json").read_text())
    assert resumed["status"] == "completed" and resumed["resumed_from_epoch"] == stopped_after
    same_run(resumed, uninterrupted)
