"""A real sweep through Ray (hydra/launcher=ray): two jobs as Ray tasks on a local Ray cluster that the
sweep starts itself (conf/hydra/launcher/ray.yaml, `ray.init.address: null`).

The Ray launcher pins cloudpickle<3, which our submitit stack does not want, so it lives in its own
virtualenv: `make test-ray` builds .venv-ray (Ray and the plugin, with the main .venv's packages beneath
them) and runs this file with it. Under any other interpreter the plugin is missing and the test skips."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import REPO

pytestmark = pytest.mark.cluster

JOB = ["trainer.max_epochs=3", "attack.adversary.steps=3", "dataset.batch_size=64", "logger=none",
       "trainer.enable_progress_bar=false", "num_threads=1"]


@pytest.fixture(scope="module")
def ray_sweep(fake_root, tmp_path_factory):
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None:
        pytest.skip("hydra-ray-launcher is not installed in this interpreter: run `make test-ray` (its own .venv-ray)")
    cwd = tmp_path_factory.mktemp("ray")
    sweep = cwd / "sweep"
    args = [sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
            "+hydra.launcher.ray.init.include_dashboard=false", f"+hydra.launcher.ray.init._temp_dir={cwd / 'r'}", *JOB, f"hydra.sweep.dir={sweep}", "normal_class=1,2"]
    env = {**os.environ, "ARAE_DATA_DIR": str(fake_root), "WANDB_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    results = {r["run_name"]: r for r in (json.loads(p.read_text()) for p in sweep.rglob("results.json"))}
    return {"proc": proc, "results": results, "log": proc.stdout + proc.stderr, "temp_dir": cwd / "r"}


def test_ray_sweep_runs_both_jobs_as_ray_tasks(ray_sweep):
    assert ray_sweep["proc"].returncode == 0, ray_sweep["log"][-4000:]
    assert "Ray Launcher is launching 2 jobs" in ray_sweep["log"], ray_sweep["log"][-4000:]
    assert set(ray_sweep["results"]) == {"linf-mnist-c1-s0", "linf-mnist-c2-s0"}
    for name, result in ray_sweep["results"].items():
        assert result["status"] == "completed", (name, result.get("error"))
        assert result["epochs"] == 3 and len(result["val_auroc_history"]) == 3
        assert result["normal_classes"] == [int(name.split("-c")[1].split("-")[0])]



def test_ray_jobs_ran_in_ray_worker_processes(ray_sweep):
    """The jobs' own output is in the Ray workers' logs (the session's temp dir), not the sweep's."""
    worker_logs = "".join(p.read_text(errors="replace") for p in ray_sweep["temp_dir"].rglob("worker-*"))
    for name in ("linf-mnist-c1-s0", "linf-mnist-c2-s0"):
        assert name in worker_logs
