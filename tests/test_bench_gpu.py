"""benchmarks/gpu.py: its --dry mode runs the GPU script's code paths on the CPU, on tiny fake data, in a
subprocess (as `make bench-gpu ARGS=--dry`), and writes the keys a GPU run writes; without --dry and
without CUDA it refuses with one clear line."""

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO

SCRIPT = REPO / "benchmarks" / "gpu.py"


def run_gpu(args, data_root, cwd, timeout=120):
    env = {**os.environ, "ARAE_DATA_DIR": str(data_root), "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.slow  # a benchmark: epochs in three precisions, with and without torch.compile, and two sweeps
def test_dry_run_writes_the_gpu_json(fake_root, tmp_path):
    out = tmp_path / "out"
    proc = run_gpu(["--dry", "--out", str(out), "--runs-dir", str(tmp_path / "runs"), "--classes", "8",
                    "--variants", "dae", "arae"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob("gpu_*.json")
    result = json.loads(path.read_text())
    assert result["dry"] is True and result["device"]["type"] == "cpu" and result["data"] == "mnist"
    peaks = result["device"]["peak_tflops"]
    assert peaks["fp32"] > 0 and peaks["tf32"] > 0
    assert [(e["setting"], e["compiled"]) for e in result["epoch"]] == [
        (s, c) for s in ("float32", "tf32", "bf16") for c in (False, True)]
    for epoch in result["epoch"]:
        assert epoch["error"] is None, epoch["error"]
        assert epoch["epoch_s"] > 0 and epoch["tflops"] > 0 and epoch["epoch_gflop"] > 0
        assert epoch["batch_size"] == 256 and epoch["pgd_steps"] == 2
    sweep = result["sweeps"]["basic"]
    assert sweep["returncode"] == 0 and sweep["members_in_flight"] == 1
    assert sorted(m["variant"] for m in sweep["members"]) == ["arae", "dae"]
    for member in sweep["members"]:
        assert member["status"] == "completed" and member["epochs"] == 1
        assert member["seconds_per_epoch"] > 0 and member["tflops"] > 0 and 0 <= member["auroc"] <= 1
    ensemble = result["sweeps"]["ensemble"]
    assert ensemble["returncode"] == 0 and ensemble["members_in_flight"] == 1
    assert sorted(m["variant"] for m in ensemble["members"]) == ["arae", "dae"]
    assert all(m["status"] == "completed" and 0 <= m["auroc"] <= 1 for m in ensemble["members"])
    assert table6_projection_ok(result["table6"]["projections"]["ensemble"])
    table6 = result["table6"]
    assert table6["runs"] == sum(table6["runs_by_variant"].values()) and table6["paper_epochs"] == 1600
    projection = table6["projections"]["basic"]
    assert projection["projected_hours"]["training"] > 0 and projection["variants_not_measured"] == ["arae_a", "arae_r"]


def table6_projection_ok(projection) -> bool:
    return projection["projected_hours"]["training"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="refuses only where there is no CUDA device")
def test_without_cuda_and_without_dry_it_refuses_clearly(fake_root, tmp_path):
    proc = run_gpu(["--out", str(tmp_path)], fake_root, tmp_path, timeout=60)
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr and "--dry" in proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.glob("gpu_*.json"))


def test_the_dry_slice_uses_cheap_attacks_and_the_ensemble_whole_batches(tmp_path):
    """ARAE-A at its paper settings (100 L2 steps, 279 spatial transforms) made the dry ensemble epoch take
    minutes: the dry slice uses debug=smoke's cheap attacks; the ensemble, which trains whole epochs, keeps
    the data set's batch size rather than 16 images per step."""
    from types import SimpleNamespace

    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu

    args = SimpleNamespace(variants=["arae_a"], classes=["8"], epochs=None, dry=True, threads=1, sweep_overrides=[])
    basic = gpu.sweep_command(args, tmp_path, tmp_path, None)
    ensemble = gpu.sweep_command(args, tmp_path, tmp_path, "ensemble")
    for command in (basic, ensemble):
        assert "+smoke.l2_steps=2" in command and "+smoke.spatial_angle_step=30" in command
    assert "dataset.batch_size=16" in basic and "+trainer.limit_train_batches=2" in basic
    assert not any(a.startswith(("dataset.batch_size", "+trainer.limit_train_batches")) for a in ensemble)
