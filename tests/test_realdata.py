"""Real data: two epochs of ARAE on class 1 reach the AUROC floor; skipped when ARAE_DATA_DIR lacks the data."""

import json

import pytest
from conftest import REAL_DATA, real_mnist_available, run_train

FAST = ["trainer.max_epochs=2", "dataset.pgd_steps=10", "logger=none", "callbacks.checkpoint=null", "trainer.enable_progress_bar=false"]


@pytest.mark.realdata
@pytest.mark.parametrize("dataset, folder, floor", [("mnist", "MNIST", 0.97), ("fashion_mnist", "FashionMNIST", 0.95)])
def test_two_epochs_of_arae_on_class_1(tmp_path, dataset, folder, floor):
    if not real_mnist_available(folder):
        pytest.skip(f"no real {folder} under ARAE_DATA_DIR={REAL_DATA} (set ARAE_DATA_DIR to a folder that holds it)")
    proc = run_train([f"dataset={dataset}", "normal_class=1", *FAST], REAL_DATA, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = tmp_path.rglob("results.json")
    results = json.loads(path.read_text())
    assert results["n_test"] == 10000
    assert results["test"]["auroc"] >= floor
