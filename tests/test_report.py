"""The report over many results.json files: grouping, failures, the paper's numbers beside ours."""

import csv
import json
import statistics

import pytest

from arae.report import main as report_main
from arae.reporting import collect, compare, group_jobs, paper_table
from arae.reporting.paper import as_classes
from arae.resume import completed_results, differences, prepare_attempt


def write_result(root, name, attack="linf", classes=(8,), seed=0, auroc=0.9, epochs=3, dataset="mnist", **extra):
    folder = root / f"epochs-{epochs}" / name
    (folder / ".hydra").mkdir(parents=True)
    results = {
        "status": "completed",
        "dataset": dataset,
        "attack": attack,
        "normal_classes": list(classes),
        "seed": seed,
        "run_name": name,
        "epochs": epochs,
        "steps": epochs * 24,
        "test": {"auroc": auroc},
        "auroc_last_k": {"k": epochs, "mean": auroc, "std": None},
        "wall_seconds": 10.0,
        "config": {"trainer": {"max_epochs": epochs}, "dataset": {"paper_epochs": 1600}},
        **extra,
    }
    (folder / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture
def runs(tmp_path):
    """ARAE on class 8 with two seeds, DAE on class 8 and on the pair (4, 5), one failure, one killed job."""
    write_result(tmp_path, "linf-c8-s0", seed=0, auroc=0.90)
    write_result(tmp_path, "linf-c8-s1", seed=1, auroc=0.94)
    write_result(tmp_path, "noise-c8-s0", attack="noise", auroc=0.85)
    write_result(tmp_path, "noise-c4_5-s0", attack="noise", classes=(5, 4), auroc=0.80)
    failed = tmp_path / "epochs-3" / "union-c8-s0"
    failed.mkdir(parents=True)
    (failed / "results.json").write_text(json.dumps({"status": "failed", "run_name": "union-c8-s0",
                                                     "error": "RuntimeError: out of\nmemory"}))
    (tmp_path / "epochs-3" / "linf_rec-c8-s0" / ".hydra").mkdir(parents=True)
    return tmp_path


def test_collect_names_every_job_with_its_status(runs):
    status = {j.name: j.status for j in collect(runs)}
    assert status == {
        "linf-c8-s0": "completed", "linf-c8-s1": "completed", "noise-c8-s0": "completed",
        "noise-c4_5-s0": "completed", "union-c8-s0": "failed", "linf_rec-c8-s0": "missing",
    }


def test_groups_give_mean_and_std_over_seeds(runs):
    groups = {g.key: g for g in group_jobs(collect(runs), ("attack", "normal_classes"))}
    arae = groups[("linf", "8")]
    assert arae.values == (0.90, 0.94)
    assert arae.mean == pytest.approx(0.92) and arae.std == pytest.approx(statistics.stdev([0.90, 0.94]))
    assert groups[("noise", "(4, 5)")].std is None  # one seed: no spread to report
    assert set(groups) == {("linf", "8"), ("noise", "8"), ("noise", "(4, 5)")}


def test_group_by_a_config_key(runs):
    (group,) = group_jobs(collect(runs), ("config.trainer.max_epochs",))
    assert group.key == ("3",) and len(group.values) == 4


def test_paper_comparison_sets_the_paper_beside_ours(runs):
    cells, budgets = compare(paper_table("table6"), collect(runs))
    cell = {(c.method, c.column): c for c in cells if c.part == "one normal class"}
    pair = {(c.method, c.column): c for c in cells if c.part == "two normal classes"}
    arae8 = cell[("ARAE", "8")]
    assert arae8.ours == pytest.approx(92.0) and arae8.seeds == 2 and arae8.paper == 92.4
    assert arae8.diff == pytest.approx(-0.4)
    assert pair[("DAE", "(4, 5)")].paper == 88.8 and pair[("DAE", "(4, 5)")].ours == pytest.approx(80.0)
    assert cell[("DAE", "0")].ours is None and cell[("DAE", "0")].paper == 99.6
    # the mean over one class run is compared with the paper's value for that same class
    assert cell[("DAE", "mean")].paper == 89.1 and "1 of 10" in cell[("DAE", "mean")].note
    assert cell[("ARAE", "mean")].paper == 92.4 and pair[("ARAE", "mean")].ours is None
    assert ("ARAE-R", "(4, 5)") not in pair  # the paper has no ARAE-R row for pairs, and we ran none
    assert {(b.method, b.jobs) for b in budgets} == {("ARAE", 2), ("DAE", 2)}
    assert all(b.epochs == 3 and b.steps == 72 for b in budgets)


def test_report_cli_writes_markdown_csv_plot_and_names_failures(runs, capsys):
    status = report_main([str(runs), "--paper", "table6", "--strict"])
    assert status == 1  # a job failed and one left nothing
    md = (runs / "table6.md").read_text()
    assert "| **ARAE** | ours |" in md and "92.0 ± 2.8" in md
    assert "paper" in md and "-0.4" in md
    assert "union-c8-s0" in md and "RuntimeError: out of memory" in md
    assert "linf_rec-c8-s0" in md and "no results.json" in md
    assert (runs / "table6.png").stat().st_size > 1000
    rows = list(csv.DictReader(open(runs / "table6.csv")))
    row = next(r for r in rows if r["method"] == "ARAE" and r["normal_classes"] == "8")
    assert float(row["ours_auroc"]) == pytest.approx(92.0) and float(row["paper_auroc"]) == 92.4
    assert float(row["diff"]) == pytest.approx(-0.4) and row["epochs"] == "3" and row["steps_per_job"]
    assert "union-c8-s0" in capsys.readouterr().err


def test_generic_report(runs):
    assert report_main([str(runs), "--by", "attack,seed", "--metric", "test.auroc", "--name", "by_seed"]) == 0
    rows = list(csv.DictReader(open(runs / "by_seed.csv")))
    assert {(r["attack"], r["seed"]) for r in rows} == {("linf", "0"), ("linf", "1"), ("noise", "0")}
    assert (runs / "by_seed.png").exists() and "union-c8-s0" in (runs / "by_seed.md").read_text()


def test_report_of_a_folder_that_does_not_exist(tmp_path, capsys):
    # An empty folder: tests/test_bad_inputs.py (exit 2, nothing written).
    assert report_main([str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["table2", "table6"])
def test_paper_means_agree_with_the_paper_values(key):
    """The printed means are the means of the printed values: catches a mistyped number."""
    for part in paper_table(key).parts:
        assert len(part.columns) == 10
        for method, row in part.rows.items():
            assert statistics.fmean(row.values) == pytest.approx(row.mean, abs=0.051), (part.name, method)


def test_paper_table_lookups():
    table6 = paper_table("table6")
    assert table6.reproduce["ARAE"] == "linf"
    pairs = table6.parts[1]
    assert pairs.value("ARAE-A", as_classes([5, 4])) == 95.0 and pairs.value("ARAE-R", (4, 5)) is None
    assert paper_table("table2").parts[1].value("ARAE", (6,)) == 83.6


def test_resume_skips_only_the_same_completed_job(tmp_path):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"seed": 0, "trainer": {"max_epochs": 3, "enable_progress_bar": True}, "data_root": "/a"})
    folder = tmp_path / "job"
    folder.mkdir()
    assert completed_results(folder, cfg) is None
    done = {"status": "completed", "config": {"seed": 0, "trainer": {"max_epochs": 3}, "data_root": "/b"}}
    (folder / "results.json").write_text(json.dumps(done))
    assert completed_results(folder, cfg)["status"] == "completed"  # data root and progress bar may differ
    cfg.trainer.max_epochs = 4
    with pytest.raises(ValueError, match="trainer.max_epochs"):
        completed_results(folder, cfg)
    (folder / "results.json").write_text(json.dumps({"status": "failed", "error": "x"}))
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.ckpt").write_text("weights")
    assert completed_results(folder, cfg) is None
    cfg.callbacks = {"checkpoint": {"dirpath": str(folder / "checkpoints"), "filename": "last"}}
    assert prepare_attempt(folder, cfg) is None  # no readable checkpoint: run again, what it left kept aside
    assert json.loads((folder / "previous_attempts" / "1" / "results.failed.json").read_text())["error"] == "x"
    assert (folder / "previous_attempts" / "1" / "checkpoints" / "last.ckpt").read_text() == "weights"
    assert not (folder / "results.json").exists() and not (folder / "checkpoints").exists()
    (folder / "csv").mkdir()  # a killed attempt: logs but no results.json
    assert completed_results(folder, cfg) is None and prepare_attempt(folder, cfg) is None
    assert (folder / "previous_attempts" / "2" / "csv").is_dir()
    assert collect(tmp_path) == []  # set-aside attempts are not jobs of their own


def test_an_unfinished_attempt_resumes_only_from_a_checkpoint_of_the_same_settings(tmp_path):
    import torch
    from omegaconf import OmegaConf

    folder = tmp_path / "job"
    checkpoint = folder / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    cfg = OmegaConf.create({"seed": 0, "callbacks": {"checkpoint": {"dirpath": str(checkpoint.parent)}}})
    torch.save({"epoch": 4, "arae_detector": {"config": {"seed": 0, "callbacks": None}}}, checkpoint)
    (folder / "csv").mkdir()
    point = prepare_attempt(folder, cfg)
    assert point.path == checkpoint and point.epoch == 5  # Lightning counts epochs from 0
    assert (folder / "csv").is_dir()  # nothing set aside: the attempt goes on
    cfg.seed = 1
    assert prepare_attempt(folder, cfg) is None  # other settings: start afresh, the attempt kept aside
    assert (folder / "previous_attempts" / "1" / "checkpoints" / "last.ckpt").exists()


def test_differences_lists_changed_settings():
    assert differences({"a": {"b": 1}, "logger": {"x": 1}}, {"a": {"b": 2}, "logger": None}) == ["a.b"]


def test_table2_report_shows_the_baselines_per_data_set(tmp_path):
    write_result(tmp_path, "linf-fashion_mnist-c6-s0", dataset="fashion_mnist", classes=(6,), auroc=0.80)
    assert report_main([str(tmp_path), "--paper", "table2"]) == 0
    md = (tmp_path / "table2.md").read_text()
    assert "### Fashion-MNIST (fashion_mnist)" in md and "### MNIST (mnist)" not in md  # MNIST was not run
    assert "| DAGMM | paper | 30.3 |" in md and "| **ARAE** | ours |" in md
    rows = {(r["part"], r["normal_classes"]): r for r in csv.DictReader(open(tmp_path / "table2.csv"))}
    assert float(rows[("Fashion-MNIST", "6")]["diff"]) == pytest.approx(80.0 - 83.6)


def test_table6_at_one_epoch_names_the_mean_image_plateau(tmp_path):
    """Every variant at 77.2 after one epoch reads like a bug: the report says what it is."""
    for attack in ("noise", "linf", "union", "linf_rec"):
        write_result(tmp_path, f"{attack}-c8-s0", attack=attack, auroc=0.772, epochs=1)
    assert report_main([str(tmp_path), "--paper", "table6"]) == 0
    md = (tmp_path / "table6.md").read_text()
    assert "every variant scores 77.2 on mnist 8: the mean-image plateau" in md and "trains 1600" in md

    write_result(tmp_path, "linf-c8-s1", seed=1, auroc=0.90, epochs=1)  # ARAE now apart from the others
    assert report_main([str(tmp_path), "--paper", "table6"]) == 0
    assert "mean-image plateau" not in (tmp_path / "table6.md").read_text()


def test_console_script_points_at_the_report():
    import importlib

    import tomllib
    from conftest import REPO

    target = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]["arae-report"]
    module, function = target.split(":")
    assert getattr(importlib.import_module(module), function) is report_main


def test_the_committed_studies_read_with_auroc_last_k():
    from pathlib import Path

    jobs = collect(Path(__file__).parent.parent / "studies")
    assert jobs and all("auroc_last_k" in j.results for j in jobs if j.status == "completed")


def test_one_std_convention_sample_std():
    from arae.stats import mean_std

    assert mean_std([0.8, 0.9, 1.0]) == pytest.approx((0.9, statistics.stdev([0.8, 0.9, 1.0])))
    assert mean_std([0.8]) == (0.8, None) and mean_std([]) == (None, None)
