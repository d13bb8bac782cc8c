"""A real sweep through SLURM (hydra/launcher=submitit_slurm) on the single-node cluster of
scripts/slurm-local.sh, with one job requeued mid-run. `make test-cluster` starts the cluster and runs
this; the default suite does not (marker `cluster`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import REPO, run_train

pytestmark = pytest.mark.cluster

# Long enough that the job can be caught between its first checkpoint and its end.
EPOCHS = 60
JOB = [
    f"trainer.max_epochs={EPOCHS}",
    "attack.adversary.steps=5",
    "dataset.batch_size=16",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "num_threads=1",
]
LAUNCHER = [
    "hydra/launcher=submitit_slurm",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=20",
]
SWEEP_SECONDS = 900


def slurm(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="hydra-submitit-launcher is not installed")
    states = slurm("sinfo", "-h", "-o", "%T").split() if shutil.which("sinfo") else []
    if not {"idle", "mixed"} & set(states):
        pytest.skip("no running SLURM cluster: start one with `sudo scripts/slurm-local.sh start` (or `make test-cluster`)")


def job_dir(sweep: Path, run_name: str) -> Path:
    (found,) = (sweep / run_name).iterdir() if (sweep / run_name).exists() else [None]
    return found


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def array_task(sweep: Path, index: int) -> str:
    """The SLURM id (<array job>_<index>) of the sweep's job number `index`."""
    submitted = [p.name for p in (sweep / ".submitit").iterdir() if p.name.endswith(f"_{index}")]
    return wait_for(lambda: submitted[0] if submitted else None, 1, "the submitit folder")


def restarts(slurm_id: str) -> int:
    info = slurm("scontrol", "show", "job", slurm_id)
    return int(info.split("Restarts=")[1].split()[0])


@pytest.fixture(scope="module")
def requeued_sweep(cluster, fake_root, tmp_path_factory):
    """Two jobs through SLURM; job 0 is requeued with `scontrol requeue` once its first checkpoint exists."""
    cwd = tmp_path_factory.mktemp("slurm")
    sweep = cwd / "sweep"
    args = [sys.executable, str(REPO / "train.py"), "-m", *LAUNCHER, *JOB, f"hydra.sweep.dir={sweep}",
            "normal_class=1,2"]
    env = {**os.environ, "ARAE_DATA_DIR": str(fake_root), "WANDB_MODE": "disabled"}
    with open(cwd / "sweep.log", "w") as log:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            first = wait_for(lambda: job_dir(sweep, "linf-mnist-c1-s0"), 300, "job 0 to start")
            wait_for(lambda: (first / "checkpoints" / "last.ckpt").exists(), 300, "job 0's first checkpoint")
            assert not (first / "results.json").exists(), f"job 0 ended before it could be requeued; raise EPOCHS ({EPOCHS})"
            slurm_id = array_task(sweep, 0)
            slurm("scontrol", "requeue", slurm_id)
            code = proc.wait(timeout=SWEEP_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
    return {"sweep": sweep, "code": code, "log": (cwd / "sweep.log").read_text(), "requeued": first,
            "restarts": restarts(slurm_id), "cwd": cwd}


def test_sweep_through_slurm_completes_both_jobs(requeued_sweep):
    assert requeued_sweep["code"] == 0, requeued_sweep["log"][-3000:]
    results = {p.parent.parent.name: json.loads(p.read_text()) for p in requeued_sweep["sweep"].rglob("results.json")
               if "previous_attempts" not in p.parts}
    assert set(results) == {"linf-mnist-c1-s0", "linf-mnist-c2-s0"}
    for name, result in results.items():
        assert result["status"] == "completed", (name, result.get("error"))
        # The evaluation cadence: every epoch of the last `last_k` (50), every 10th before them.
        assert result["epochs"] == EPOCHS and result["val_auroc_epochs"] == [10, *range(EPOCHS - 49, EPOCHS + 1)]
        assert len(result["val_auroc_history"]) == len(result["val_auroc_epochs"])


def test_requeued_job_ran_again_and_completed(requeued_sweep):
    assert requeued_sweep["restarts"] == 1  # SLURM did requeue it
    result = json.loads((requeued_sweep["requeued"] / "results.json").read_text())
    assert result["status"] == "completed" and result["normal_classes"] == [1]
    assert result["resumed_from_epoch"] > 0  # it went on from its checkpoint, not from epoch 0


def test_requeued_job_resumes_from_its_checkpoint_and_equals_an_uninterrupted_run(requeued_sweep, fake_root):
    job = requeued_sweep["requeued"]
    assert not list(job.glob("previous_attempts/*/checkpoints")), "the partial attempt was set aside, not resumed"
    reference = requeued_sweep["cwd"] / "uninterrupted"
    proc = run_train([*JOB, "normal_class=1", f"hydra.run.dir={reference}"], fake_root, requeued_sweep["cwd"], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours, theirs = (json.loads((d / "results.json").read_text()) for d in (job, reference))
    assert ours["val_auroc_history"] == theirs["val_auroc_history"]
    assert ours["test"] == theirs["test"]
