"""The Table 1/3/4/5 and Figure 4 reports (`arae-report --paper`): ours beside the paper's, in %, failures
listed, from results.json files; and the make targets that sweep their conf/experiment/*.yaml."""

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO, TINY, run_train

from arae.report import main as report_main
from arae.reporting.paper import paper_values
from arae.results import read_results, write_json_atomic
from arae.scoring import best_threshold, oriented


def fake_result(folder, **fields):
    base = {"status": "completed", "epochs": 3, "test": {}, "auroc_last_k": {"k": 3, "mean": 0.5, "std": 0.01},
            "config": {"protocol": {"tau": None}}, "normal_classes": [0]}
    write_json_atomic(folder / "results.json", {**base, **fields})


def write_report(table, folder):
    assert report_main([str(folder), "--paper", table]) == 0
    return folder / f"{table}.md"


def test_paper_values_are_those_of_the_text_in_percent():
    assert paper_values("table1")["rows"]["brain_mri"] == {"auroc": 97.0, "std": 0.5}
    assert [r["auroc"] for r in paper_values("table3")["rows"]] == [99.8, 99.7, 99.3]
    assert [r["f1"] for r in paper_values("table3")["rows"]] == [99.3, 97.3, 94.1]
    assert paper_values("table4")["mean_auroc"] == 71.7
    assert paper_values("table5")["rows"][1]["auroc"] == {"LSA": 17.0, "ARAE": 76.0}


def test_table1_table4_and_figure4_reports(tmp_path):
    fake_result(tmp_path / "t1" / "0", dataset="head_ct", test={"auroc": 0.8})
    fake_result(tmp_path / "t1" / "1", dataset="brain_mri", test={"auroc": 0.9})
    (tmp_path / "t1" / "2").mkdir()
    (tmp_path / "t1" / "2" / "results.json").write_text(json.dumps({"status": "failed", "error": "DataError: boom"}))
    text = write_report("table1", tmp_path / "t1").read_text()
    assert "| head_ct | 1 | 3 | 80.00 | 50.00 | 1.00 | 84.80 | — |" in text and "DataError: boom" in text
    for cls, auroc in [(0, 0.6), (2, 0.7), (4, 0.8)]:
        fake_result(tmp_path / "t4" / str(cls), dataset="cifar10_jpg", normal_classes=[cls], test={"auroc": auroc})
    text = write_report("table4", tmp_path / "t4").read_text()
    assert "| mean | 3 | 3 | 70.00 | 71.70 |" in text
    for i, (tau, f1) in enumerate([(0.5, 0.9), (0.5, 0.7), (0.9, 0.6)]):
        fake_result(tmp_path / "f4" / str(i), dataset="mnist", config={"protocol": {"tau": tau}},
                    test={"f1_normal_at_val_threshold": f1, "f1_normal_max": 1.0, "f1_anomaly_at_val_threshold": 0.1})
    text = write_report("figure4", tmp_path / "f4").read_text()
    assert "| 0.5 | 2 | 3 | 80.00 | 14.14 | 100.00 | — |" in text  # sample std of 90 and 70
    assert (tmp_path / "f4" / "figure4.csv").read_text().startswith("tau,classes")
    assert "| 0.6 |" not in text and (tmp_path / "f4" / "figure4.png").stat().st_size > 0


def test_a_useless_detector_scores_high_f1_only_with_the_normal_class_positive():
    """Why Table 3 must take the anomaly as positive: at tau = 0.75 normal-positive F1 cannot fall below
    2 tau / (1 + tau) = 0.857, whatever the scores, while the anomaly-positive F1 of random scores is low."""
    tau, n = 0.75, 400
    labels = (torch.arange(n) >= tau * n).long()  # 1 = anomaly
    scores = torch.rand(n, generator=torch.Generator().manual_seed(0))  # no skill at all
    normal_f1 = best_threshold(*oriented(scores, labels, "normal"))[0]
    anomaly_f1 = best_threshold(*oriented(scores, labels, "anomaly"))[0]
    assert normal_f1 >= 2 * tau / (1 + tau) - 1e-9
    assert anomaly_f1 < 0.6


def test_table3_reads_the_anomaly_positive_f1(tmp_path):
    fake_result(tmp_path / "a", dataset="coil100", normal_classes=[3], config={"protocol": {"tau": 0.75}},
                test={"auroc": 0.5, "f1_normal_max": 0.95, "f1_anomaly_max": 0.40})
    fake_result(tmp_path / "b", dataset="coil100", normal_classes=[1, 2, 3, 4], config={"protocol": {"tau": 0.75}},
                test={"auroc": 0.5, "f1_normal_max": 0.97, "f1_anomaly_max": 0.50})
    text = write_report("table3", tmp_path).read_text()
    assert "| 4 | 0.75 | 1 | 3 | 50.00 | — | 50.00 | — | 99.70 | 97.30 |" in text
    assert "97.00" not in text and "F1 (anomaly positive)" in text


def test_table3_from_a_real_tiny_sweep(image_root, tmp_path):
    proc = run_train(
        ["-m", *TINY, "trainer.max_epochs=1", "attack.adversary.steps=2", "dataset=coil100", "++dataset.source.image_size=8",
         "protocol.n_normal=1", "protocol.tau=0.5", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        image_root, tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = write_report("table3", tmp_path / "sweep").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 1 | 0.5 |"))
    assert row.startswith("| 1 | 0.5 | 2 | 1 |") and row.endswith("| 99.80 | 99.30 |")
    results = [read_results(p) for p in (tmp_path / "sweep").rglob("results.json")]
    f1 = [r["test"]["f1_anomaly_max"] for r in results]  # the default: the paper's anomaly positive
    assert all("f1_normal_max" not in r["test"] for r in results)
    assert row.split(" | ")[6] == f"{100 * sum(f1) / len(f1):.2f}"


def test_table5_sets_each_model_beside_the_papers(tmp_path):
    models = []
    for i, (name, attacked) in enumerate([("ARAE", 0.8), ("ARAE", 0.6), ("DAE", 0.3)]):
        run = tmp_path / f"run{i}"
        fake_result(run, dataset="mnist", normal_classes=[8], epochs=5)
        results = {"clean": {"auroc": 0.9}, "eps=0.05": {"auroc": attacked}, "eps=0.1": {"auroc": attacked / 2}}
        models.append({"name": name, "checkpoint": str(run / "checkpoints" / "last.ckpt"), "steps": 40,
                       "objective": "score", "results": results})
    write_json_atomic(tmp_path / "robustness.json", {"models": models})
    text = write_report("table5", tmp_path).read_text()
    assert "| ARAE | 0.05 | 2 | 5 | 90.00 | 70.00 | 14.14 | 86.00 | 56.00 |" in text
    assert "| ARAE | 0.1 | 2 | 5 | 90.00 | 35.00 | 7.07 | 76.00 | 17.00 |" in text
    assert "| DAE | 0.05 | 1 | 5 | 90.00 | 30.00 | — | — | 56.00 |" in text
    assert "40 steps, objective `score`" in text


@pytest.mark.slow
def test_reproduce_table5_end_to_end(fake_root, tmp_path):
    """`make reproduce-table5` at a tiny budget: trains ARAE on (fake) MNIST 8, attacks its normal test
    images, and sets the AUROC beside the paper's."""
    out = tmp_path / "table5"
    env = {**os.environ, "ARAE_DATA_DIR": str(fake_root), "WANDB_MODE": "disabled"}
    make = ["make", "-s", "-C", str(REPO), "reproduce-table5", f"PY={sys.executable}", "STAMP=", "EPOCHS=1",
            "ATTACK_STEPS=2", f"OUTPUTS={tmp_path}", "LOGGER=csv", "ARGS=attack.adversary.steps=2 dataset.batch_size=64"]
    proc = subprocess.run(make, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (model,) = json.loads((out / "robustness.json").read_text())["models"]
    assert model["name"] == "ARAE" and model["steps"] == 2
    text = (out / "table5.md").read_text()
    assert (out / "epochs-1" / "linf-mnist-c8-s0" / "results.json").is_file()  # named by settings: resumable
    for eps, paper_arae, paper_lsa in [("0.05", "86.00", "56.00"), ("0.1", "76.00", "17.00")]:
        ours = 100 * model["results"][f"eps={eps}"]["auroc"]
        clean = 100 * model["results"]["clean"]["auroc"]
        assert f"| ARAE | {eps} | 1 | 1 | {clean:.2f} | {ours:.2f} | — | {paper_arae} | {paper_lsa} |" in text


@pytest.mark.parametrize(
    "target, experiments",
    [("table1", "table1"), ("table3", "table3 table3_n4 table3_n7"), ("table4", "table4"), ("figure4", "figure4")],
)
def test_every_reproduce_target_sweeps_its_experiments_then_reports(target, experiments):
    env = {**os.environ, "MAKEFLAGS": ""}
    cmd = ["make", "-n", "-C", str(REPO), f"reproduce-{target}", "EPOCHS=2", "JOBS=3", "PY=python3", "STAMP="]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60).stdout
    assert f"for experiment in {experiments};" in out and f"hydra.sweep.dir=multirun_outputs/{target}" in out
    assert "trainer.max_epochs=2" in out and "hydra/launcher=joblib hydra.launcher.n_jobs=3" in out
    assert f"-m arae.report multirun_outputs/{target} --paper {target} --strict" in out
