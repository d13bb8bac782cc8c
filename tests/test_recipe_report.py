"""The fast-recipe report: time to the target AUROC, grouping by settings, the verdict, the CLI's errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from arae.reporting import recipe
from arae.reporting.runs import Run
from arae.results import write_json_atomic


def write_run(root, name, seed, curve, seconds, *, attack="linf", batch=256, activation="sigmoid",
              adversary=None, normal_class=8):
    config = {
        "crafting": {"_target_": "arae.training.BatchCrafting", "autocast": "bfloat16"},
        "trainer": {"precision": "bf16-mixed"},
        "attack": {"name": attack, "paper_name": "ARAE", "gamma": 0.1,
                   "adversary": adversary or {"_target_": "arae.attacks.PGD", "steps": 10, "step_size": None}},
        "model": {"activation": activation, "output_activation": "identity" if activation == "relu" else "sigmoid"},
        "dataset": {"batch_size": batch},
        "optimizer": {"lr": 1e-3},
    }
    results = {
        "status": "completed", "attack": attack, "normal_classes": [normal_class], "seed": seed,
        "val_auroc_history": list(curve), "epoch_seconds": list(seconds), "config": config,
    }
    folder = root / f"{name}-s{seed}"
    folder.mkdir(parents=True)
    write_json_atomic(folder / "results.json", results)


def test_time_to_target_sums_the_runs_own_epoch_seconds():
    run = Run({"variant": "ARAE"}, "8", 0, (1, 2, 3, 4), (0.80, 0.93, 0.90, 0.95), (10.0, 20.0, 30.0, 40.0))
    assert run.reached(0.924) == (2, 30.0)
    assert run.reached(0.94) == (4, 100.0)
    assert run.reached(0.99) is None
    assert run.best_within(60.0) == pytest.approx(0.93)
    assert run.peak() == (4, 0.95)
    assert run.last_mean(k=2) == pytest.approx(0.925)
    assert run.seconds_per_epoch == pytest.approx(25.0)


def test_settings_name_the_attack_knobs_and_the_model():
    spatial = {"_target_": "arae.attacks.GridSpatial", "max_angle": 30, "angle_step": 6, "translations": [-4, 0, 4]}
    union = {"_target_": "arae.attacks.Union", "mode": "concat",
             "members": {"l2": {"_target_": "arae.attacks.PGD", "steps": 10, "step_size": 1.0}, "spatial": spatial}}
    label = recipe.recipe_label({"attack": "union_concat", "config": {
        "attack": {"name": "union_concat", "paper_name": "ARAE-A", "gamma": 0.2, "adversary": union},
        "crafting": {"_target_": "arae.training.BatchCrafting"},
        "model": {"activation": "relu", "output_activation": "identity"},
        "dataset": {"batch_size": 128}, "optimizer": {"lr": 3e-3}, "trainer": {}}})
    assert "concat: l2 10 steps of 1, spatial 99 transforms" in label
    assert "per-batch" in label and "γ 0.2" in label and "relu MLP, identity output" in label
    assert "batch 128" in label and "lr 0.003" in label and label.endswith("float32")


def test_report_names_the_fastest_setting_met_in_every_seed(tmp_path):
    # slow: 10 s/epoch, reaches 0.93 at epoch 3 in both seeds (30 s); fast: 2 s/epoch, epoch 5 (10 s);
    # relu: one seed never reaches it.
    for seed in (0, 1):
        write_run(tmp_path / "runs", "slow", seed, [0.8, 0.9, 0.93, 0.93, 0.93], [10.0] * 5, batch=128)
        write_run(tmp_path / "runs", "fast", seed, [0.8, 0.85, 0.9, 0.92, 0.93], [2.0] * 5)
        write_run(tmp_path / "runs", "relu", seed, [0.8, 0.95 if seed else 0.9, 0.9, 0.9, 0.9], [1.0] * 5,
                  activation="relu")
    assert subprocess.run([sys.executable, "-m", "arae.reporting.recipe", str(tmp_path / "runs"),
                           "--out", str(tmp_path / "docs"), "--minutes", "1"]).returncode == 0
    text = (tmp_path / "docs" / "recipe.md").read_text()
    verdict = text.split("## Verdict")[1].split("##")[0]
    assert "batch 256" in verdict and "2 seeds" in verdict and "relu" not in verdict
    assert "ep. 5, 0 min / ep. 5, 0 min" in text
    assert "| 8 | ARAE, linf (10 steps), per-batch, γ 0.1, relu MLP" in text and "– / ep. 2" in text
    assert "92.4" in text  # the paper's class-8 ARAE value is the default target


def test_runs_of_different_lengths_never_share_a_row(tmp_path):
    """Seeds 0 and 1 ran 6 epochs, seed 2 only 4; a 4-epoch run of seed 0 is the start of its 6-epoch one."""
    for seed in (0, 1):
        write_run(tmp_path / "long", "a", seed, [0.8] * 6, [1.0] * 6)
    write_run(tmp_path / "short", "a", 2, [0.9] * 4, [1.0] * 4)
    write_run(tmp_path / "short", "a", 0, [0.8] * 4, [1.0] * 4)
    text = recipe.write_report(recipe.load(tmp_path), tmp_path / "docs", [tmp_path], None, 60.0).read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 8 |")]
    assert [row.split(" | ")[2:4] for row in rows] == [["2", "6"], ["1", "4"]]
    assert "80.0 / 80.0" in rows[0] and "| 90.0 |" in rows[1]


def test_report_says_when_nothing_reaches_the_target(tmp_path):
    write_run(tmp_path, "a", 0, [0.8, 0.9], [1.0, 1.0])
    path = recipe.write_report(recipe.load(tmp_path), tmp_path / "docs", [tmp_path], None, 60.0)
    assert "No setting reached the target" in path.read_text()


@pytest.mark.parametrize("args, message", [
    (["--target", "92.4"], "AUROC fraction"),
    (["/nonexistent/folder"], "is not a folder"),
    ([], "no completed run"),
])
def test_cli_errors_are_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    argv = args if args and args[0].startswith("/") else [str(tmp_path / "empty"), *args]
    proc = subprocess.run([sys.executable, "-m", "arae.reporting.recipe", *argv, "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
