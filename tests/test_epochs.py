"""One epoch count everywhere, the paper's: epochs 1…N in metrics.csv, results.json, the console and the
progress bar; and an epoch that is not evaluated shows no evaluation value."""

import csv
import json
import re
from types import SimpleNamespace

from conftest import TINY, run_train

from arae.training.progress import ProgressBar


def test_metrics_csv_results_and_console_count_epochs_from_one(fake_root, tmp_path):
    # Evaluated at epochs 2 and 4 (every 2nd, and the last one as last_k=1), not at 1 and 3.
    args = [*TINY, "logger=csv", "trainer.max_epochs=4", "eval_every_n_epochs=2", "last_k=1"]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = tmp_path.rglob("results.json")
    results = json.loads(path.read_text())
    assert results["val_auroc_epochs"] == [2, 4] and results["epochs"] == 4

    rows = list(csv.DictReader((path.parent / "csv" / "metrics.csv").open()))
    train_epochs = [int(float(r["epoch"])) for r in rows if r.get("train/loss")]
    assert train_epochs == [1, 2, 3, 4]
    assert [int(float(r["epoch"])) for r in rows if r.get("val/auroc")] == [2, 4]
    assert [int(float(r["epoch"])) for r in rows if r.get("test/auroc")] == [4]  # after the 4th epoch

    lines = {int(m[1]): line for line in proc.stdout.splitlines() if (m := re.search(r"epoch (\d+)/4", line))}
    assert sorted(lines) == [1, 2, 3, 4]
    assert "val/auroc" in lines[2] and "val/auroc" in lines[4]
    assert "val/auroc" not in lines[1] and "val/auroc" not in lines[3]  # not epoch 2's value again


def test_the_progress_bar_counts_epochs_from_one():
    bar = ProgressBar()
    bar._trainer = SimpleNamespace(max_epochs=10)
    assert bar._get_train_description(0).strip() == "Epoch 1/10"
    assert bar._get_train_description(9).strip() == "Epoch 10/10"
