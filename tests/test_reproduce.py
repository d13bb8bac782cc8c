"""Reproduce sweeps end to end on tiny fake data: a parallel launcher, a failing job, resume, the report."""

import csv
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, TINY, run_train
from omegaconf import OmegaConf

# Every variant at its full settings: on 40 training images per class an epoch takes about a second.
TABLE6 = ["-m", "+experiment=table6", *(a for a in TINY if not a.startswith("attack.")), "trainer.max_epochs=1"]
VARIANTS = {"noise": "DAE", "linf": "ARAE", "union": "ARAE-A", "linf_rec": "ARAE-R"}


def results(root):
    return {p.parent.name: json.loads(p.read_text()) for p in root.rglob("results.json")}


def report(root, *args):
    return subprocess.run([sys.executable, "-m", "arae.report", str(root), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_parallel_sweep_with_a_failure_then_resume_and_report(fake_root, tmp_path):
    """The four variants of Table 6 for a class that exists and one that does not, two jobs at a time
    through joblib: the good jobs complete in their own folders although pairs of them start in the same
    second, the failing ones harm none of them; a re-run skips the completed jobs; the report sets the
    paper's numbers beside ours and names the failures."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="hydra-joblib-launcher is not installed")
    sweep = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "normal_class=1,12"]
    proc = run_train([*TABLE6, *sweep], fake_root, tmp_path)
    assert proc.returncode != 0  # Hydra reports the failed jobs once all jobs have ended
    table6 = tmp_path / "multirun_outputs" / "table6"
    found = results(table6)
    assert set(found) == {f"{a}-mnist-c{c}-s0" for a in VARIANTS for c in (1, 12)}
    for attack in VARIANTS:
        good, bad = found[f"{attack}-mnist-c1-s0"], found[f"{attack}-mnist-c12-s0"]
        assert good["status"] == "completed" and good["attack"] == attack and good["normal_classes"] == [1]
        assert bad["status"] == "failed" and "does not exist in mnist" in bad["error"]
    assert (table6 / "epochs-1" / "union-mnist-c1-s0" / "results.json").exists()

    first = {p: p.stat().st_mtime_ns for p in table6.rglob("results.json")}
    proc = run_train([*TABLE6, "normal_class=1"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(f"skipped {a}-mnist-c1-s0" in proc.stdout for a in VARIANTS)
    assert {p: p.stat().st_mtime_ns for p in table6.rglob("results.json")} == first

    out = report(table6, "--paper", "table6", "--strict")
    assert out.returncode == 1, out.stderr  # strict: jobs failed
    assert "union-mnist-c12-s0" in out.stderr
    md = (table6 / "table6.md").read_text()
    assert "## Budget: 1 epoch(s) per job" in md and "## Failed jobs (4)" in md and "linf-mnist-c12-s0" in md
    rows = {(r["method"], r["part"], r["normal_classes"]): r for r in csv.DictReader(open(table6 / "table6.csv"))}
    paper_class1 = {"DAE": 99.9, "ARAE": 99.9, "ARAE-A": 99.7, "ARAE-R": 99.9}
    for attack, method in VARIANTS.items():
        row = rows[(method, "one normal class", "1")]
        ours = 100 * found[f"{attack}-mnist-c1-s0"]["auroc_last_k"]["mean"]
        assert float(row["ours_auroc"]) == pytest.approx(ours, abs=1e-3)
        assert float(row["paper_auroc"]) == paper_class1[method]
        assert float(row["diff"]) == pytest.approx(ours - paper_class1[method], abs=1e-3)
        assert rows[(method, "one normal class", "0")]["ours_auroc"] == ""  # not run


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


def test_a_reproduce_target_with_a_failed_job_exits_as_the_docs_say(tmp_path):
    """The recipe ends with status 1 when a job failed; make itself then exits 2, and the docs say 2."""
    env = {**os.environ, "MAKEFLAGS": ""}
    cmd = ["make", "-C", str(REPO), "reproduce-table6", "PY=false", "STAMP=", f"OUTPUTS={tmp_path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "Error 1" in proc.stderr, proc.stderr
    for page in ("reproduce.md", "troubleshooting.md"):
        text = " ".join((REPO / "docs" / page).read_text().split())
        assert "exit status 2" in text and "exit with status 1" not in text and "exit status 1 if" not in text, page


def test_smoke_runs_are_separate_short_jobs_in_their_own_folder():
    """SMOKE=1: debug=smoke on separate jobs (the ensemble trains whole epochs only), into a folder of its own
    that each smoke run replaces, so that no real result is mistaken for a smoke one or the reverse."""
    env = {**os.environ, "MAKEFLAGS": ""}
    cmd = ["make", "-n", "-C", str(REPO), "reproduce-table6", "SMOKE=1", "CLASSES=8", "PY=python3", "STAMP="]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60).stdout
    assert "debug=smoke" in out and "seed=0" in out and "hydra/launcher=ensemble" not in out
    assert "rm -rf multirun_outputs/smoke/table6;" in out and "hydra.sweep.dir=multirun_outputs/smoke/table6" in out
    assert "-m arae.report multirun_outputs/smoke/table6 --paper table6" in out
    table5 = subprocess.run([*cmd[:4], "reproduce-table5", *cmd[5:]], capture_output=True, text=True, env=env,
                            timeout=60).stdout
    assert "--steps 2 " in table5 and "multirun_outputs/smoke/table5/*/*/checkpoints/last.ckpt" in table5


def _compose(*overrides):
    from hydra import compose, initialize_config_dir

    from arae.config import register_resolvers

    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def test_debug_smoke_makes_every_variant_cheap_and_leaves_the_paper_settings_alone():
    smoke = _compose("+experiment=table6", "variant=arae_a", "debug=smoke")
    members = smoke.attack.adversary.members
    assert (members.linf.steps, members.l2.steps, members.spatial.angle_step) == (2, 2, 30)
    assert smoke.trainer.max_epochs == 1 and smoke.trainer.limit_train_batches == 2
    paper = _compose("+experiment=table6", "variant=arae_a").attack.adversary.members
    assert (paper.linf.steps, paper.l2.steps, paper.spatial.angle_step) == (40, 100, 2)
    assert _compose("attack=l2").attack.adversary.steps == 100 and _compose("attack=spatial").attack.adversary.angle_step == 2


def test_a_smoke_sweep_of_table6_completes(fake_root, tmp_path):
    args = ["-m", "+experiment=table6", "debug=smoke", "normal_class=1", "logger=none", "trainer.enable_progress_bar=false"]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = results(tmp_path / "multirun_outputs" / "table6")
    assert {r["attack"] for r in found.values()} == set(VARIANTS) and all(r["epochs"] == 1 for r in found.values())
    assert found["union-mnist-c1-s0"]["config"]["attack"]["adversary"]["members"]["spatial"]["angle_step"] == 30


def launcher_settings(launcher) -> dict:
    """What an instantiated plugin launcher will run with (each plugin keeps its settings its own way)."""
    for attribute in ("params", "joblib", "ray_cfg"):  # submitit, joblib, ray
        if hasattr(launcher, attribute):
            settings = getattr(launcher, attribute)
            return OmegaConf.to_container(settings) if OmegaConf.is_config(settings) else dict(settings)
    raise AssertionError(f"{type(launcher).__name__}: no settings found")


@pytest.mark.parametrize(
    "launcher, plugin, field, value",
    [
        ("joblib", "hydra-joblib-launcher", "n_jobs", 4),
        ("submitit_slurm", "hydra-submitit-launcher", "partition", "gpu"),
        ("submitit_slurm", "hydra-submitit-launcher", "timeout_min", 30),
        ("ray", "hydra-ray-launcher", "init.address", "auto"),
    ],
)
def test_launcher_plugin_instantiates_from_our_config(fake_root, tmp_path, launcher, plugin, field, value):
    """Our launcher configs build the installed plugin's launcher (every field is one its class takes), and a
    setting on train.py's command line reaches it, with no deprecation warning; without the plugin the test
    is skipped, naming the package."""
    import importlib
    import warnings

    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from arae.config import register_resolvers

    target = OmegaConf.load(REPO / "conf" / "hydra" / "launcher" / f"{launcher}.yaml")._target_
    module, _, name = target.rpartition(".")
    try:
        importlib.import_module(module)
    except ImportError as err:
        pytest.skip(f"{plugin} is not installed ({err}); pip install {plugin} to test this launcher")

    key = f"hydra.launcher.{'ray.' if launcher == 'ray' else ''}{field}"
    proc = run_train([f"hydra/launcher={launcher}", f"{key}={value}", "--cfg", "hydra", "-p", key], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].endswith(str(value))
    assert "deprecated" not in proc.stderr

    register_resolvers()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cfg = compose("train", overrides=[f"hydra/launcher={launcher}", f"{key}={value}"], return_hydra_config=True)
    built = instantiate(cfg.hydra.launcher)
    assert isinstance(built, getattr(importlib.import_module(module), name))  # Hydra's runs re-import plugins
    assert OmegaConf.select(OmegaConf.create(launcher_settings(built)), field) == value
