"""The fidelity report: confidence intervals, paired differences, budgets and the verdict, on made-up runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from arae.reporting import fidelity, series, table5, union_script
from arae.reporting.estimates import estimate
from arae.reporting.runs import Run, load_runs
from arae.results import run_settings, write_json_atomic

EPOCH = "arae.training.EpochCrafting"
BATCH = "arae.training.BatchCrafting"


def write_run(root, attack, normal_class, seed, curve, crafting=EPOCH, steps=40, epochs=None, autocast=None,
              robustness=None):
    config = {
        "crafting": {"_target_": crafting, "autocast": autocast},
        "attack": {"name": attack, "paper_name": {"noise": "DAE", "linf": "ARAE"}[attack],
                   "adversary": {"steps": steps} if attack != "noise" else {}},
        "model": {"activation": "sigmoid", "output_activation": "sigmoid"},
        "dataset": {"batch_size": 256},
        "optimizer": {"lr": 1e-3},
        "trainer": {"max_epochs": len(curve)},
    }
    results = {
        "status": "completed", "attack": attack, "normal_classes": [normal_class], "seed": seed,
        "val_auroc_history": list(curve), "seconds_per_epoch": 1.0, "config": config,
    }
    if epochs is not None:
        results["val_auroc_epochs"] = list(epochs)
    folder = root / f"{attack}-{crafting[-13:]}-{steps}-{autocast}-c{normal_class}-s{seed}"
    folder.mkdir(parents=True)
    write_json_atomic(folder / "results.json", results)
    if robustness is not None:
        write_json_atomic(folder / "robustness.json", {"models": [{"results": {
            k: {"auroc": v} for k, v in robustness.items()}}]})


def test_estimate_matches_scipy_t_interval():
    stats = pytest.importorskip("scipy.stats")
    values = [0.91, 0.88, 0.93, 0.90]
    est = estimate(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=est.mean, scale=stats.sem(values))
    assert est.n == 4
    assert est.low == pytest.approx(low, abs=1e-4) and est.high == pytest.approx(high, abs=1e-4)
    assert estimate([0.5]).half is None
    assert estimate([]) is None


def test_last_mean_at_a_shorter_budget_reads_the_first_epochs():
    run = Run({"variant": "ARAE"}, "8", 0, tuple(range(1, 201)), tuple(e / 1000 for e in range(1, 201)))
    assert run.last_mean(100) == pytest.approx(sum(range(51, 101)) / 50 / 1000)
    assert run.at(120) == pytest.approx(0.120)
    assert run.last_mean(300) is None and run.at(300) is None
    assert run.peak() == (200, 0.2)


def test_a_sparse_history_uses_its_evaluated_epochs(tmp_path):
    epochs = [5, 10, 15, 20, 21, 22, 23, 24, 25]
    write_run(tmp_path, "linf", 8, 0, [0.1 * i for i in range(len(epochs))], epochs=epochs)
    (run,) = load_runs(tmp_path)
    assert run.length == 25
    assert run.at(17) == pytest.approx(0.2)  # epoch 15's value
    assert run.last_mean(25, k=5) == pytest.approx((0.4 + 0.5 + 0.6 + 0.7 + 0.8) / 5)


def study(tmp_path, arae_offset):
    """DAE and ARAE (two schedules) on class 8, three seeds; ARAE per-epoch = DAE + arae_offset."""
    for seed in range(3):
        noise = 0.002 * seed
        dae = [0.80 + 0.0005 * e + noise for e in range(120)]
        write_run(tmp_path, "noise", 8, seed, dae)
        write_run(tmp_path, "linf", 8, seed, [v + arae_offset + 0.001 * seed for v in dae])
        write_run(tmp_path, "linf", 8, seed, [v + 0.01 for v in dae], crafting=BATCH)
    return load_runs(tmp_path)


def test_paired_gap_verdict_and_factor_comparison(tmp_path):
    runs = study(tmp_path, arae_offset=0.03)
    grouped, _ = series.series_of(runs)
    assert set(grouped) == {("8", "DAE"), ("8", "ARAE (per-epoch, 40 steps)"), ("8", "ARAE (per-batch, 40 steps)")}
    _, _, verdicts = fidelity.gap_rows(grouped)
    by_series = {v.series: v for v in verdicts}
    epoch = by_series["ARAE (per-epoch, 40 steps)"]
    assert epoch.budget == 120
    assert epoch.diff.mean == pytest.approx(0.031, abs=1e-9)  # 0.03 + mean of 0.001 * seed
    assert epoch.diff.n == 3 and epoch.holds is True and "ARAE ahead" in epoch.outcome
    assert epoch.paper_diff == pytest.approx(0.924 - 0.891)
    batch = by_series["ARAE (per-batch, 40 steps)"]
    assert batch.diff.half == pytest.approx(0.0, abs=1e-12) and batch.holds is True
    rows = "\n".join(fidelity.factor_rows(grouped))
    assert "| 8 | schedule | ARAE (per-batch, 40 steps) − ARAE (per-epoch, 40 steps) | 3 | 120 | -2.1 ± 0.2 |" in rows


def test_a_worse_arae_is_called_so(tmp_path):
    runs = study(tmp_path, arae_offset=-0.02)
    _, _, verdicts = fidelity.gap_rows(series.series_of(runs)[0])
    verdict = next(v for v in verdicts if "per-epoch" in v.series)
    assert verdict.holds is False and "DAE ahead" in verdict.outcome


def test_report_is_written_with_its_figure(tmp_path):
    study(tmp_path / "runs", arae_offset=0.03)
    assert fidelity.main([str(tmp_path / "runs"), "--out", str(tmp_path / "docs")]) == 0
    text = (tmp_path / "docs" / "fidelity.md").read_text()
    assert "ARAE ahead" in text and "| 8 | DAE | 3 | 120 |" in text
    assert "fidelity/class_8.png" in text
    png = tmp_path / "docs" / "fidelity" / "class_8.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "50: +3.1" in text  # the gap read at a shorter budget
    assert "3 distinct (setting, class, seed) runs" not in text and "9 distinct (setting, class, seed) runs" in text
    assert "clipped to [0, 1] in 3 of its 3 runs" in text


def test_an_empty_folder_is_an_error(tmp_path, capsys):
    assert fidelity.main([str(tmp_path)]) == 2
    assert "no completed run" in capsys.readouterr().err


def test_fidelity_sweep_then_report_end_to_end(fake_root, tmp_path):
    """`+experiment=fidelity` at a tiny budget: DAE and ARAE on one class and two seeds land in folders
    named by their settings, and the report is built from their results.json."""
    from conftest import REPO, TINY, run_train

    tiny = [a for a in TINY if not a.startswith(("trainer.max_epochs", "attack.adversary.steps"))]
    args = ["-m", "+experiment=fidelity", *tiny, "trainer.max_epochs=3", "dataset.pgd_steps=2",
            "normal_class=1", "seed=0,1"]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = tmp_path / "studies" / "fidelity"
    folders = sorted(str(p.parent.relative_to(study)) for p in study.rglob("results.json"))
    assert folders == [f"epoch-float32-pgd2-sigmoid-e3/{a}-mnist-c1-s{s}" for a in ("linf", "noise") for s in (0, 1)]
    out = tmp_path / "docs"
    report = subprocess.run([sys.executable, "-m", "arae.reporting.fidelity", str(study), "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    text = (out / "fidelity.md").read_text()
    assert "| 1 | ARAE (per-epoch, 2 steps, batch 64) − DAE (batch 64) | 2 | 3 |" in text
    assert (out / "fidelity" / "class_1.png").exists()


def test_a_seed_run_at_two_budgets_counts_once_at_its_longest(tmp_path):
    write_run(tmp_path / "e100", "linf", 8, 0, [0.80] * 100)
    write_run(tmp_path / "e150", "linf", 8, 0, [0.80] * 100 + [0.90] * 50)
    write_run(tmp_path / "e150", "linf", 8, 1, [0.85] * 150)
    grouped, superseded = series.series_of(load_runs(tmp_path))
    ((_, runs),) = grouped.items()
    assert [(r.seed, r.length) for r in runs] == [(0, 150), (1, 150)]
    assert series.common_budget(runs) == 150
    assert [(a.seed, a.length, b.length) for a, b in superseded] == [(0, 100, 150)]


def test_the_report_counts_distinct_runs_and_lists_the_superseded(tmp_path):
    write_run(tmp_path / "runs" / "e100", "linf", 8, 0, [0.80] * 100)
    write_run(tmp_path / "runs" / "e150", "linf", 8, 0, [0.80] * 150)
    write_run(tmp_path / "runs" / "e150", "noise", 8, 0, [0.80] * 150)
    assert fidelity.main([str(tmp_path / "runs"), "--out", str(tmp_path / "docs")]) == 0
    text = (tmp_path / "docs" / "fidelity.md").read_text()
    assert "3 completed runs" in text and "2 distinct (setting, class, seed) runs; 1 shorter runs" in text
    assert ("- ARAE (per-epoch, 40 steps), class 8, seed 0: 100 epochs, superseded by 150 epochs (identical prefix)"
            in text)
    write_run(tmp_path / "runs" / "e120", "noise", 8, 0, [0.85] * 120)  # another realisation of the seed
    assert fidelity.main([str(tmp_path / "runs"), "--out", str(tmp_path / "docs")]) == 0
    text = (tmp_path / "docs" / "fidelity.md").read_text()
    assert "- DAE, class 8, seed 0: 120 epochs, superseded by 150 epochs (another realisation, up to 5.0 points apart)" in text


def _runs(curves, settings=None):
    return [Run(settings or {"variant": "ARAE"}, "8", seed, tuple(range(1, len(c) + 1)), tuple(c))
            for seed, c in enumerate(curves)]


def test_within_spread_counts_the_epochs_inside_the_reference_seed_band():
    reference = _runs([[0.80] * 60, [0.90] * 60])
    inside = _runs([[0.85] * 60, [0.86] * 60])
    outside = _runs([[0.95] * 30 + [0.85] * 30, [0.95] * 30 + [0.85] * 30])
    assert fidelity.within_spread(inside, reference, 60) == "100 % of epochs; last-50: yes"
    assert fidelity.within_spread(outside, reference, 60) == "50 % of epochs; last-50: yes"
    assert fidelity.within_spread(_runs([[0.99] * 60]), reference, 60) == "0 % of epochs; last-50: no"
    assert "one reference seed" in fidelity.within_spread(inside, reference[:1], 60)


def test_precision_labels_name_the_attack_and_the_training_precision():
    assert series.precision_label(None, "32-true") == ""
    assert series.precision_label("float32", "32-true") == ""
    assert series.precision_label("bfloat16", "32-true") == "bfloat16 attack"
    assert series.precision_label("bfloat16", "bf16-mixed") == "bfloat16 attack, bf16-mixed training"


def test_the_verdict_has_one_line_per_class_and_budget_with_precision_twins_as_a_check(tmp_path):
    """Two precision twins of one setting and a per-epoch series on one class: one verdict line per budget,
    for the series with the most paired seeds; the twin is named on the line, not counted as a cell."""
    for seed in range(3):
        dae = [0.80 + 0.0005 * e + 0.002 * seed for e in range(120)]
        write_run(tmp_path, "noise", 8, seed, dae)
        write_run(tmp_path, "linf", 8, seed, [v + 0.01 for v in dae], crafting=BATCH, steps=10, autocast="bfloat16")
        if seed < 2:  # the float32 twin has two seeds only: the bf16 series is the better supported
            write_run(tmp_path, "linf", 8, seed, [v + 0.012 for v in dae], crafting=BATCH, steps=10)
        write_run(tmp_path, "linf", 8, seed, [v - 0.02 for v in dae], crafting=EPOCH, steps=10)
    grouped, _ = series.series_of(load_runs(tmp_path))
    lines, final = fidelity.verdict_lines(grouped)
    assert [line.split(":")[0] for line in lines] == ["- Class 8, 50 epochs", "- Class 8, 100 epochs", "- Class 8, 120 epochs"]
    assert all("ARAE (per-batch, 10 steps, bfloat16 attack) − DAE" in line for line in lines)
    assert "over 3 paired seeds" in lines[-1] and "Precision twins: ARAE (per-batch, 10 steps): +1.2 ± 0.0" in lines[-1]
    assert [v.budget for v in final] == [120] and final[0].holds
    assert "confirmed in 1 of 1 classes" in fidelity.summary_line(final)
    epoch_lines, _ = fidelity.verdict_lines(grouped, schedule="epoch")
    assert "ARAE (per-epoch, 10 steps) − DAE: -2.0 ± 0.0" in epoch_lines[-1] and "DAE ahead" in epoch_lines[-1]
    (schedule,) = fidelity.schedule_lines(grouped)
    assert "ARAE (per-batch, 10 steps) − ARAE (per-epoch, 10 steps): +3.2 ± 0.0" in schedule


def test_table5_pairs_arae_and_dae_under_attack_by_seed(tmp_path):
    for seed in range(2):
        write_run(tmp_path, "noise", 8, seed, [0.9] * 60, robustness={"clean": 0.9, "eps=0.05": 0.7, "eps=0.1": 0.5})
        write_run(tmp_path, "linf", 8, seed, [0.9] * 60, crafting=BATCH,
                  robustness={"clean": 0.9, "eps=0.05": 0.8 + 0.01 * seed, "eps=0.1": 0.6})
    grouped, _ = series.series_of(load_runs(tmp_path))
    text = "\n".join(table5.section(grouped))
    assert "ε = 0.05: 86.0, ε = 0.1: 76.0" in text  # the paper's Table 5
    assert "| 8 | ARAE (per-batch, 40 steps) − DAE | 2 | +0.0 ± 0.0 | +10.5 ± 6.4 | +10.0 ± 0.0 |" in text


def test_union_script_section_sets_each_setting_beside_the_authors_log(tmp_path):
    log = union_script.authors_log()
    assert sum(log[c][9] for c in log) / 10 == pytest.approx(0.934, abs=5e-4)  # the epoch-10 mean
    assert sum(log[c][49] for c in log) / 10 == pytest.approx(0.966, abs=5e-4)
    runs = []
    for leak in (0.0, 1.0):
        for c in ("3", "8"):
            settings = run_settings({"attack": {"name": "union_script", "paper_name": "ARAE-A", "leak_weight": leak,
                                                "adversary": {}}})
            runs.append(Run(settings, c, 0, tuple(range(1, 11)), tuple([0.9 + leak / 100] * 10)))
    (tmp_path / "fig").mkdir()
    text = "\n".join(union_script.section(runs, tmp_path, tmp_path / "fig"))
    # log: (91.65 + 85.90) / 2; each class apart: (|90.0 - 91.65| + |90.0 - 85.9|) / 2, not |+1.2|
    assert "| 10 | written loss (no leak) | 2 (3, 8) | 90.0 | 88.8 | +1.2 | 2.9 |" in text
    assert "| 10 | gradient leak 1 | 2 (3, 8) | 91.0 | 88.8 | +2.2 | 2.9 |" in text
    assert "| 10 | 8 | 85.9 / 83.5 | 90.0 / 90.0 | 91.0 / 91.0 |" in text
    assert "gradient leak 1" in text and (tmp_path / "fig" / "union_script.png").exists()


def test_the_schedule_decision_names_the_default_and_the_evidence_at_the_papers_budget(tmp_path, monkeypatch):
    """Per-batch and per-epoch ARAE on class 8, three seeds, run to the paper's 1,600 epochs: level there
    (per-epoch + noise), per-batch ahead by 3 points at 200 epochs."""
    for seed in range(3):
        noise = 0.001 * (seed - 1)
        per_epoch = [0.80 + 0.1 * min(e, 400) / 400 for e in range(1600)]
        per_batch = [v + (0.03 if e < 250 else 0.0) + noise for e, v in enumerate(per_epoch)]
        write_run(tmp_path, "linf", 8, seed, per_epoch, crafting=EPOCH, steps=10)
        write_run(tmp_path, "linf", 8, seed, per_batch, crafting=BATCH, steps=10)
    grouped, _ = series.series_of(load_runs(tmp_path))
    lines = fidelity.decision_lines(grouped, "epoch")
    assert "`crafting: epoch` in conf/train.yaml" in lines[0]
    assert "class 8 at 1600 epochs +0.0 ± 0.2 (3 seeds)" in lines[1]
    assert "no difference is resolved, so the targets keep the paper's literal schedule" in lines[2]
    assert "per-batch crafting is ahead (95 % CI excludes 0) in 3: class 8 at 50 epochs +3.0" in lines[3]
    per_batch_default = fidelity.decision_lines(grouped, "batch")
    assert "`ARGS=crafting=epoch`" in per_batch_default[0] and per_batch_default[2] == (
        "At the paper's budget no difference is resolved.")
    assert fidelity.default_schedule() in ("epoch", "batch")
