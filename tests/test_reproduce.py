"""Reproduce sweeps end to end on tiny fake data: a parallel launcher, a failing job, resume, the report."""

import csv
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, TINY, run_train

TABLE6 = ["-m", "+experiment=table6", *TINY, "trainer.max_epochs=1"]


def results(root):
    return {p.parent.name: json.loads(p.read_text()) for p in root.rglob("results.json")}


def report(root, *args):
    return subprocess.run([sys.executable, "-m", "arae.report", str(root), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_parallel_sweep_with_a_failure_then_resume_and_report(fake_root, tmp_path):
    """Three jobs at once through joblib: two complete in their own folders although they start in the same
    second, the third fails without harming them; a re-run skips the completed jobs; the report sets
    the paper's numbers beside ours and names the failure."""
    sweep = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "normal_class=1,3,12"]
    proc = run_train([*TABLE6, *sweep], fake_root, tmp_path)
    assert proc.returncode != 0  # Hydra reports the failed job once all jobs have ended
    table6 = tmp_path / "multirun_outputs" / "table6"
    found = results(table6)
    assert set(found) == {"linf-mnist-c1-s0", "linf-mnist-c3-s0", "linf-mnist-c12-s0"}
    assert found["linf-mnist-c1-s0"]["status"] == found["linf-mnist-c3-s0"]["status"] == "completed"
    assert found["linf-mnist-c1-s0"]["normal_classes"] == [1] and found["linf-mnist-c3-s0"]["normal_classes"] == [3]
    assert (table6 / "epochs-1" / "linf-mnist-c1-s0" / "results.json").exists()
    assert "does not exist in mnist" in found["linf-mnist-c12-s0"]["error"]

    first = {p: p.stat().st_mtime_ns for p in table6.rglob("results.json")}
    proc = run_train([*TABLE6, "normal_class=1,3"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipped linf-mnist-c1-s0" in proc.stdout and "skipped linf-mnist-c3-s0" in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in table6.rglob("results.json")} == first

    out = report(table6, "--paper", "table6", "--strict")
    assert out.returncode == 1, out.stderr  # strict: one job failed
    assert "linf-mnist-c12-s0" in out.stderr
    md = (table6 / "table6.md").read_text()
    assert "## Budget: 1 epoch(s) per job" in md and "linf-mnist-c12-s0" in md
    rows = {(r["method"], r["part"], r["normal_classes"]): r for r in csv.DictReader(open(table6 / "table6.csv"))}
    arae1 = rows[("ARAE", "one normal class", "1")]
    assert arae1["paper_auroc"] == "99.9000" and arae1["ours_auroc"] and arae1["diff"]
    assert float(arae1["ours_auroc"]) == pytest.approx(100 * found["linf-mnist-c1-s0"]["auroc_last_50"]["mean"])
    assert rows[("ARAE", "one normal class", "0")]["ours_auroc"] == ""  # not run


@pytest.mark.parametrize(
    "launcher, field, value",
    [
        ("joblib", "n_jobs", "4"),
        ("submitit_slurm", "partition", "gpu"),
        ("submitit_slurm", "timeout_min", "30"),
        ("ray", "ray.init.address", "auto"),
    ],
)
def test_launcher_configs_compose(fake_root, tmp_path, launcher, field, value):
    proc = run_train([f"hydra/launcher={launcher}", f"hydra.launcher.{field}={value}", "--cfg", "hydra",
                      "-p", f"hydra.launcher.{field}"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].endswith(value)
    assert "deprecated" not in proc.stderr


def test_reproduce_targets_pass_their_settings(tmp_path):
    """`make reproduce-table6 EPOCHS= CLASSES= JOBS=` builds the multiruns and the report it should."""
    env = {**os.environ, "MAKEFLAGS": ""}
    cmd = ["make", "-n", "-C", str(REPO), "reproduce-table6", "EPOCHS=2", "CLASSES=8,'[4,5]'", "JOBS=3",
           "PY=python3", "STAMP="]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60).stdout
    assert "for experiment in table6 table6_pairs;" in out and "train.py -m +experiment=$experiment" in out
    assert "trainer.max_epochs=2" in out and "normal_class=8,'[4,5]'" in out
    assert "hydra/launcher=joblib hydra.launcher.n_jobs=3" in out
    assert "-m arae.report multirun_outputs/table6 --paper table6" in out
