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
    for key in ("epochs", "steps", "val_auroc_history", "val_auroc_epochs", "test", "auroc_last_k"):
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


def test_a_diverging_loss_stops_the_run_with_a_message(fake_root, tmp_path):
    proc = run_train([*TINY, "attack.gamma=inf"], fake_root, tmp_path)  # an infinite latent term
    assert proc.returncode == 2
    assert "the training loss became nan or inf in epoch 1" in proc.stderr and "attack.gamma" in proc.stderr
    assert "Traceback" not in proc.stderr
    (path,) = tmp_path.rglob("results.json")
    record = json.loads(path.read_text())
    assert record["status"] == "failed" and record["user_error"] and "nan or inf" in record["error"]


def test_evaluation_cadence_every_epoch_in_the_last_k_only(fake_root, tmp_path):
    args = [*TINY, "trainer.max_epochs=7", "last_k=2", "eval_every_n_epochs=3"]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = tmp_path.rglob("results.json")
    results = json.loads(path.read_text())
    assert results["val_auroc_epochs"] == [3, 6, 7]
    assert len(results["val_auroc_history"]) == 3 and results["auroc_last_k"]["k"] == 2
    assert len(results["epoch_seconds"]) == 7


def test_evaluation_and_checkpoint_cadence():
    from types import SimpleNamespace

    from arae.training.checkpointing import EpochCheckpoint
    from arae.training.monitor import EvaluationSchedule

    due = [e for e in range(1, 101) if EvaluationSchedule(100, 50, 10).due(e)]
    assert due == [10, 20, 30, 40, 50, *range(51, 101)]
    assert [e for e in range(1, 6) if EvaluationSchedule(5, 50, 10).due(e)] == [1, 2, 3, 4, 5]

    saved = []
    trainer = SimpleNamespace(max_epochs=7, should_stop=False)
    trainer.save_checkpoint = lambda path, **_: saved.append(trainer.current_epoch + 1)
    callback = EpochCheckpoint("ckpts", filename="last", every_n_epochs=3)
    for epoch in range(1, 8):
        trainer.current_epoch = epoch - 1
        callback.on_train_epoch_end(trainer, None)
    assert saved == [3, 6, 7]  # every third epoch and the last
    trainer.should_stop, trainer.current_epoch = True, 0
    callback.on_train_epoch_end(trainer, None)
    assert saved[-1] == 1  # a run that stops early saves the epoch it stops after


def test_checkpoint_write_killed_midway_leaves_the_previous_one(tmp_path, monkeypatch):
    from arae.training.checkpointing import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    target = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, target)

    def dies_while_writing(obj, handle):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_while_writing)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"epoch": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"epoch": 1}
    assert [p.name for p in target.parent.iterdir()] == ["last.ckpt"]
