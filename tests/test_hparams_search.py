"""hparams_search=arae_optuna: an Optuna search over a validation objective, refused without a validation split."""

import json

import pytest
import yaml
from conftest import TINY, run_train

from arae.task import validation_objective

SEARCH = ["hparams_search=arae_optuna", "hydra.sweeper.n_trials=3", "num_threads=1", *TINY]


def test_the_objective_is_a_validation_auroc_never_the_test_one():
    results = {
        "has_validation": True,
        "test": {"auroc": 0.99},
        "val_auroc_history": [0.5, 0.7],
        "auroc_last_k": {"k": 2, "mean": 0.6, "std": 0.1},
    }
    assert validation_objective(results, "val/auroc_last_k_mean") == 0.6
    assert validation_objective(results, "val/auroc") == 0.7
    assert validation_objective({**results, "has_validation": False}, None) is None


@pytest.mark.slow  # optuna imports scipy and scikit-learn: a minute and more on a loaded machine
def test_search_runs_three_trials_on_the_validation_split(fake_root, tmp_path):
    proc = run_train([*SEARCH, "protocol=p1", "protocol.validation=true", "trainer.max_epochs=1"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("results.json"))]
    assert len(trials) == 3 and all(t["has_validation"] for t in trials)
    assert len({t["config"]["optimizer"]["lr"] for t in trials}) == 3  # the sampler moved the parameters
    (best,) = tmp_path.rglob("optimization_results.yaml")
    summary = yaml.safe_load(best.read_text())
    assert summary["best_value"] == pytest.approx(max(t["auroc_last_k"]["mean"] for t in trials))
    assert set(summary["best_params"]) == {"dataset.epsilon", "attack.gamma", "optimizer.lr", "dataset.pgd_steps"}


def test_search_refuses_a_protocol_without_validation(fake_root, tmp_path):
    proc = run_train([*SEARCH, "protocol=p2"], fake_root, tmp_path)
    assert proc.returncode == 2
    assert "protocol p2 has none" in proc.stderr and "protocol=p1 protocol.validation=true" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("results.json"))  # stopped before any trial trained
