"""A run killed or stopped mid-way continues from its checkpoint on a re-run and ends as an uninterrupted
run would; the other ways a run can end (diverged, asked for several devices or no epochs) are recorded."""

import csv
import errno
import fcntl
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, TINY, run_train
from signal_at import send

# Every epoch evaluated and checkpointed, so a kill after any epoch has something to resume from; logged to
# csv/metrics.csv, which a resumed run continues.
RESUMABLE = [
    *(o for o in TINY if not o.startswith(("callbacks.checkpoint", "trainer.max_epochs", "logger"))),
    "logger=csv",
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


def logged_epochs(run) -> list[int]:
    """The epochs of csv/metrics.csv's training rows, in file order (1 = the first epoch)."""
    with open(run / "csv" / "metrics.csv", newline="") as handle:
        return [int(float(row["epoch"])) for row in csv.DictReader(handle) if row.get("train/loss")]


def wait_for_row(proc, run, epochs: int, timeout: float = 60) -> None:
    """Until csv/metrics.csv holds the training row of epoch `epochs` (counted from 1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if (run / "csv" / "metrics.csv").exists() and epochs in logged_epochs(run):
            return
        time.sleep(0.01)


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
    wait_for_row(proc, tmp_path / "run", killed_after)
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
    assert logged_epochs(tmp_path / "run") == list(range(1, 21))


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
    assert logged_epochs(tmp_path / "run") == list(range(1, 21))


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


class FullDisk(io.RawIOBase):
    """A file on a disk that takes `room` more bytes, then refuses with ENOSPC (what a full disk does)."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def fileno(self) -> int:
        return self.handle.fileno()

    def close(self) -> None:
        self.handle.close()
        super().close()


def fill_disk(monkeypatch) -> None:
    """From now on every atomic write (checkpoints, results.json) finds the disk full after 100 bytes."""
    import arae.results

    real = os.fdopen
    monkeypatch.setattr(arae.results.os, "fdopen", lambda fd, mode: FullDisk(real(fd, mode), 100))


@pytest.fixture()
def full_disk(monkeypatch):
    fill_disk(monkeypatch)


def test_a_full_disk_while_checkpointing_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    from arae.errors import StorageError
    from arae.training.checkpointing import AtomicCheckpointIO

    target = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 1}, target)
    fill_disk(monkeypatch)
    with pytest.raises(StorageError, match=f"no space left on device writing {target}"):
        AtomicCheckpointIO().save_checkpoint({"epoch": 2, "weights": torch.zeros(10_000)}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"epoch": 1}
    assert [p.name for p in target.parent.iterdir()] == ["last.ckpt"]


def test_a_run_that_fills_the_disk_stops_with_one_line(fake_root, tmp_path, full_disk):
    args = [o for o in TINY if not o.startswith("callbacks.checkpoint")]
    proc = run_train([*args, "hydra.run.dir=run"], fake_root, tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"no space left on device writing {tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_sigint_mid_epoch_is_interrupted_and_resumes(fake_root, tmp_path, uninterrupted):
    """Ctrl+C stops at once (no wait for the epoch's end), is recorded as interrupted, and says how to go on."""
    args = [*RESUMABLE, "hydra.run.dir=run"]
    handler = signal.getsignal(signal.SIGINT)
    try:
        proc = run_train([*args, *send("SIGINT", epoch=4)], fake_root, tmp_path)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "interrupted: stopped by SIGINT" in proc.stderr
    assert "Run the same command again to continue from the last checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["status"] == "interrupted" and "SIGINT" in record["error"]
    assert checkpoint_epoch(tmp_path / "run" / "checkpoints" / "last.ckpt") == 3

    again = run_train(args, fake_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = json.loads((tmp_path / "run" / "results.json").read_text())
    assert resumed["resumed_from_epoch"] == 3
    same_run(resumed, uninterrupted)
    assert logged_epochs(tmp_path / "run") == list(range(1, 21))


def test_sigterm_in_process_resumed_log_holds_every_epoch_once(fake_root, tmp_path):
    args = [*RESUMABLE, "trainer.max_epochs=6", "hydra.run.dir=run"]
    stopped = run_train([*args, *send("SIGTERM", epoch=3)], fake_root, tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    assert logged_epochs(tmp_path / "run") == [1, 2, 3]
    again = run_train(args, fake_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert logged_epochs(tmp_path / "run") == list(range(1, 7))
    with open(tmp_path / "run" / "csv" / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(bool(row.get("test/auroc")) for row in rows) == 1


def test_a_second_run_in_a_busy_folder_refuses(fake_root, tmp_path):
    from arae.resume import LOCK_FILE

    args = [*TINY, "hydra.run.dir=run"]
    (tmp_path / "run").mkdir()
    with open(tmp_path / "run" / LOCK_FILE, "a") as held:  # the first run, still training
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run_train(args, fake_root, tmp_path)
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert f"another run is using {tmp_path / 'run'}" in " ".join(proc.stderr.split())
        assert "Traceback" not in proc.stderr and not (tmp_path / "run" / "results.json").exists()
    assert run_train(args, fake_root, tmp_path).returncode == 0  # released with its holder


def test_partial_writes_of_a_killed_run_are_removed(fake_root, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    stale = [run / "checkpoints" / ".last.ckpt.k1ll3d.tmp", run / ".results.json.k1ll3d.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    proc = run_train([*TINY, "hydra.run.dir=run"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "removed 2 partial files" in proc.stdout
    assert not any(path.exists() for path in stale)


WITH_CHECKPOINT = [o for o in TINY if not o.startswith("callbacks.checkpoint")]


def test_an_unreadable_results_json_of_a_completed_job_is_reported(fake_root, tmp_path):
    args = [*WITH_CHECKPOINT, "hydra.run.dir=run"]
    assert run_train(args, fake_root, tmp_path).returncode == 0
    results = tmp_path / "run" / "results.json"
    results.write_text(results.read_text()[:200])  # cut short, as by a broken copy
    again = run_train(args, fake_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{results} cannot be read (JSONDecodeError)" in " ".join(again.stdout.split())
    assert json.loads(results.read_text())["status"] == "completed"


def test_a_completed_job_skipped_with_another_data_root_says_so(fake_root, tmp_path):
    import shutil

    args = [*TINY, "hydra.run.dir=run"]
    assert run_train(args, fake_root, tmp_path).returncode == 0
    other = shutil.copytree(fake_root / "MNIST", tmp_path / "other" / "MNIST").parent
    again = run_train(args, other, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    out = " ".join(again.stdout.split())
    assert "skipped" in out and f"its data came from {fake_root}, this run's from {other}" in out


STALLED = "the model stopped learning"


def test_a_model_that_stopped_learning_is_named_once(fake_root, tmp_path):
    """optimizer.lr=1e12 saturates every sigmoid: exit 0 and an AUROC that never moves, now with a warning."""
    proc = run_train([*TINY, "trainer.max_epochs=6", "optimizer.lr=1e12"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (proc.stdout + proc.stderr).count(STALLED) == 1
    assert "lower optimizer.lr" in " ".join((proc.stdout + proc.stderr).split())


def test_a_model_that_learns_slowly_is_not_called_stalled(fake_root, tmp_path):
    """A flat loss is no sign of a stalled model (an MLP sits at the mean image for a while); a tiny learning
    rate still changes the output every epoch."""
    proc = run_train([*TINY, "trainer.max_epochs=6", "optimizer.lr=1e-6"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert STALLED not in proc.stdout + proc.stderr


def test_only_the_jobs_own_partial_writes_are_removed(fake_root, tmp_path):
    """A run folder may hold other jobs' folders (hydra.run.dir=outputs): their writes in flight stay."""
    other = tmp_path / "run" / "other_job" / "checkpoints" / ".last.ckpt.inflight.tmp"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another job, still writing")
    proc = run_train([*TINY, "hydra.run.dir=run"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert other.exists() and "partial file" not in proc.stdout
