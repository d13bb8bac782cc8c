"""The speed work keeps the arithmetic: the fast PGD path, the attack precision flag, the training-time
budget, the fast (FGSM-RS) attack, and the benchmark itself on tiny fake data."""

import csv
import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO, TINY, conf_settings, rng, run_train

from arae.attacks import PGD, FGSMRandomStart, LatentDistance, LinfBall
from arae.errors import ConfigError
from arae.training import EpochCrafting

LINF = conf_settings("adversary/linf")

sys.path.insert(0, str(REPO / "benchmarks"))
import bench  # noqa: E402
import hand_loop  # noqa: E402
import matmul  # noqa: E402


class BallWithoutBox:
    """The L-inf ball seen only through the generic interface (project the perturbation, then clip)."""

    def __init__(self, eps):
        self.inner = LinfBall(eps)
        self.eps = eps

    def random_start(self, x, rng):
        return self.inner.random_start(x, rng)

    def step(self, grad, step_size):
        return self.inner.step(grad, step_size)

    def project(self, delta):
        return self.inner.project(delta)


def test_box_projection_gives_the_generic_projections_examples(model, batch):
    fast = PGD(LinfBall(0.2), LatentDistance(), **{**LINF, "steps": 10})(model, batch, rng(3))
    generic = PGD(BallWithoutBox(0.2), LatentDistance(), **{**LINF, "steps": 10})(model, batch, rng(3))
    assert torch.allclose(fast, generic, atol=1e-6)
    assert (fast - batch).abs().max() <= 0.2 + 1e-6 and fast.min() >= 0 and fast.max() <= 1


def test_hand_written_benchmark_pgd_is_the_frameworks_arithmetic(model, batch):
    ours = PGD(LinfBall(0.2), LatentDistance(), **{**LINF, "steps": 7})(model, batch, rng(4))
    torch.manual_seed(4)  # the hand-written PGD draws its start from torch's global generator
    hand = hand_loop.hand_linf_pgd(model, batch.clone(), eps=0.2, steps=7, step_size=2.5 * 0.2 / 7)
    assert torch.equal(ours, hand)
    assert all(p.requires_grad for p in model.parameters())


def test_fgsm_random_start_is_one_large_step(model, batch):
    attack = FGSMRandomStart(LinfBall(0.2), LatentDistance(), **conf_settings("attack/linf_fast", "adversary"))
    assert attack.steps == 1 and attack.step_size == pytest.approx(0.25) and attack.random_start
    objective = LatentDistance()
    reference = objective.reference(model, batch)
    start = PGD(LinfBall(0.2), objective, **{**LINF, "steps": 1, "step_size": 1e-12})(model, batch, rng(5))
    x_adv = attack(model, batch, rng(5))
    assert (x_adv - batch).abs().max() <= 0.2 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    with torch.no_grad():
        assert objective(model, x_adv, reference).sum() > objective(model, start, reference).sum()
    with pytest.raises(ConfigError, match="step_factor"):
        FGSMRandomStart(LinfBall(0.2), objective, step_factor=0)


def test_bfloat16_crafting_stays_feasible_and_close(model, batch):
    attack = PGD(LinfBall(0.2), LatentDistance(), **{**LINF, "steps": 5})
    exact, rounded = EpochCrafting(chunk_size=8, autocast=None), EpochCrafting(chunk_size=8, autocast="bfloat16")
    exact.on_epoch_start(attack, model, batch, rng(6))
    rounded.on_epoch_start(attack, model, batch, rng(6))
    index = torch.arange(32)
    a, b = exact.adversarial(attack, model, batch, index, rng()), rounded.adversarial(attack, model, batch, index, rng())
    assert b.dtype == torch.float32 and (b - batch).abs().max() <= 0.2 + 1e-6 and b.min() >= 0 and b.max() <= 1
    assert (a - b).abs().mean() < 0.05  # a few sign flips at most, not a different attack
    with pytest.raises(ConfigError, match="crafting.autocast"):
        EpochCrafting(chunk_size=8, autocast="float8")


def test_training_budget_stops_the_run_and_epoch_means_are_logged(fake_root, tmp_path):
    budget = ["+callbacks.budget._target_=arae.training.TrainingBudget", "+callbacks.budget.seconds=1e-6"]
    proc = run_train([*TINY, "trainer.max_epochs=5", "logger=csv", *budget], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = tmp_path.rglob("results.json")
    results = json.loads(path.read_text())
    assert results["epochs"] == 1 and len(results["epoch_seconds"]) == 1
    rows = list(csv.DictReader((path.parent / "csv" / "metrics.csv").open()))
    losses = [float(r["train/loss"]) for r in rows if r.get("train/loss")]
    assert len(losses) == 1 and losses[0] > 0  # one epoch mean, logged once


def test_bad_matmul_precision_is_one_clear_message(fake_root, tmp_path):
    proc = run_train([*TINY, "matmul_precision=fast"], fake_root, tmp_path)
    assert proc.returncode == 2
    assert "matmul_precision must be one of highest, high, medium" in proc.stderr


@pytest.mark.slow  # a benchmark: every row's epochs, floors and evaluation, also in bf16
def test_benchmark_runs_on_tiny_data_and_writes_its_table(fake_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARAE_DATA_DIR", str(fake_root))
    monkeypatch.setattr(matmul, "MATMUL_SIZE", 256)
    payload = bench.main(["--attacks", "none", "linf", "--repeats", "1", "--out", str(tmp_path),
                          "--overrides", "linf:attack.adversary.steps=2", "protocol.eval_batch_size=7"])
    rows = [(r["attack"], r["precision"]) for r in payload["rows"]]
    fast = matmul.bf16_available(torch.device("cpu"))
    assert rows == ([("none", "float32"), ("none", "fast"), ("linf", "float32"), ("linf", "fast")] if fast
                    else [("none", "float32"), ("linf", "float32")])
    assert payload["bf16_skipped"] is (None if fast else bench.BF16_SKIPPED)
    for row in payload["rows"]:
        assert row["framework_s"] > 0 and row["hand_s"] > 0 and row["floor_s"] > 0
        assert len(row["framework_repeats_s"]) == 2  # warm-up + 1
        assert row["whole_s"] > row["framework_s"] and row["whole_over_train"] > 1  # evaluations cost time
        assert (row["floor_bf16_s"] > 0) if fast else row["floor_bf16_s"] is None
    none, linf = payload["rows"][0], [r for r in payload["rows"] if r["attack"] == "linf"][0]
    assert linf["epoch_gflop"] > none["epoch_gflop"]  # two attack steps cost FLOPs
    assert payload["eval"]["images"] == 120 and payload["data"] == "mnist"
    plan = payload["whole_run"]  # MNIST's paper budget at the default cadence: 50 + 1550 / 10, 160 saves
    assert (plan["epochs"], plan["evaluations"], plan["checkpoints"]) == (1600, 205, 160)
    (written,) = Path(tmp_path).glob("*.json")
    assert json.loads(written.read_text())["rows"][-1]["hand_attack"].startswith("hand-written")
    assert "fw/hand" in capsys.readouterr().out


@pytest.mark.slow  # a benchmark
def test_benchmark_skips_bf16_rows_where_the_cpu_has_no_bf16(fake_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARAE_DATA_DIR", str(fake_root))
    monkeypatch.setattr(matmul, "MATMUL_SIZE", 64)
    monkeypatch.setattr(matmul, "cpu_has_fast_bf16", lambda: False)
    payload = bench.main(["--attacks", "none", "--repeats", "1", "--out", str(tmp_path), "--no-eval"])
    assert [r["precision"] for r in payload["rows"]] == ["float32"]
    assert payload["bf16_skipped"] == bench.BF16_SKIPPED and payload["rows"][0]["floor_bf16_s"] is None
    assert "bf16 rows skipped" in capsys.readouterr().out


def test_benchmark_scripts_import_and_read_their_options():
    """The benchmarks themselves run in `make test-slow`; here only that their parts fit together."""
    import fast_arae
    import gpu

    assert bench.parse_args([]).attacks is None and "linf" in bench.attack_names()
    assert gpu.parse_args(["--dry"]).images == gpu.DRY["images"] and callable(fast_arae.main)


def test_the_fast_precision_trains_and_tests_a_tiny_run(fake_root, tmp_path):
    """precision=fast (bf16 attack, bf16-mixed training) end to end, at the smallest size: the one run of the
    default suite in bf16 (emulated, and slow, on CPUs without bf16 units)."""
    proc = run_train([*TINY, "precision=fast", "trainer.max_epochs=1", "attack.adversary.steps=1"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = tmp_path.rglob("results.json")
    results = json.loads(path.read_text())
    assert results["settings"]["training_precision"] == "bf16-mixed" and results["settings"]["attack_precision"] == "bfloat16"
    assert 0 <= results["test"]["auroc"] <= 1
