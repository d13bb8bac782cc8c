"""The Table 1/3/4 and Figure 4 reports: ours beside the paper's, failures listed, from results.json files."""

import json

import torch
from conftest import TINY, run_train

from arae.evaluation import best_threshold, oriented
from arae.reproduce_data import paper, write_report
from arae.results import read_results, write_json_atomic


def fake_result(folder, **fields):
    base = {"status": "completed", "epochs": 3, "test": {}, "auroc_last_50": {"k": 3, "mean": 0.5, "std": 0.01},
            "config": {"protocol": {"tau": None}}, "normal_classes": [0]}
    write_json_atomic(folder / "results.json", {**base, **fields})


def test_paper_values_are_those_of_the_text():
    ref = paper()
    assert ref["table1"]["rows"]["brain_mri"] == {"auroc": 0.970, "auroc_std_last_50": 0.005}
    assert [r["auroc"] for r in ref["table3"]["rows"]] == [0.998, 0.997, 0.993]
    assert ref["table4"]["mean_auroc"] == 0.717


def test_table1_table4_and_figure4_reports(tmp_path):
    fake_result(tmp_path / "t1" / "0", dataset="head_ct", test={"auroc": 0.8})
    fake_result(tmp_path / "t1" / "1", dataset="brain_mri", test={"auroc": 0.9})
    (tmp_path / "t1" / "2").mkdir()
    (tmp_path / "t1" / "2" / "results.json").write_text(json.dumps({"status": "failed", "error": "DataError: boom"}))
    text = write_report("table1", tmp_path / "t1").read_text()
    assert "| head_ct | 1 | 3 | 0.800 | 0.500 | 0.010 | 0.848 | – |" in text and "DataError: boom" in text
    for cls, auroc in [(0, 0.6), (2, 0.7), (4, 0.8)]:
        fake_result(tmp_path / "t4" / str(cls), dataset="cifar10_jpg", normal_classes=[cls], test={"auroc": auroc})
    text = write_report("table4", tmp_path / "t4").read_text()
    assert "| mean | 3 | 3 | 0.700 | 0.717 |" in text
    for i, (tau, f1) in enumerate([(0.5, 0.9), (0.5, 0.7), (0.9, 0.6)]):
        fake_result(tmp_path / "f4" / str(i), dataset="mnist", config={"protocol": {"tau": tau}},
                    test={"f1_normal_at_val_threshold": f1, "f1_normal_max": 1.0, "f1_anomaly_at_val_threshold": 0.1})
    text = write_report("figure4", tmp_path / "f4").read_text()
    assert "| 0.5 | 2 | 3 | 0.800 | 0.100 | 1.000 | – |" in text
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
    assert "| 4 | 0.75 | 1 | 3 | 0.500 | 0.000 | 0.500 | 0.000 | 0.997 | 0.973 |" in text
    assert "0.970" not in text and "F1 (anomaly positive)" in text


def test_table3_from_a_real_tiny_sweep(image_root, tmp_path):
    proc = run_train(
        ["-m", *TINY, "trainer.max_epochs=1", "attack.adversary.steps=2", "dataset=coil100", "++dataset.source.image_size=8",
         "protocol.n_normal=1", "protocol.tau=0.5", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        image_root, tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = write_report("table3", tmp_path / "sweep").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 1 | 0.5 |"))
    assert row.startswith("| 1 | 0.5 | 2 | 1 |") and row.endswith("| 0.998 | 0.993 |")
    results = [read_results(p) for p in (tmp_path / "sweep").rglob("results.json")]
    f1 = [r["test"]["f1_anomaly_max"] for r in results]  # the default: the paper's anomaly positive
    assert all("f1_normal_max" not in r["test"] for r in results)
    assert row.split(" | ")[6] == f"{sum(f1) / len(f1):.3f}"
