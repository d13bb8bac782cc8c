"""arae-dashboard builds the comparison report's spec offline from a tiny sweep folder."""

import json

from arae.dashboard import main


def _job(root, name, attack, classes, auroc, group="table6"):
    folder = root / name
    folder.mkdir(parents=True)
    results = {
        "status": "completed", "dataset": "mnist", "attack": attack, "normal_classes": classes, "seed": 0,
        "run_name": name, "auroc_last_k": {"k": 50, "mean": auroc, "std": 0.01}, "config": {"group": group},
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(results))


def test_dashboard_spec_from_a_tiny_sweep(tmp_path, capsys):
    _job(tmp_path, "a", "linf", [8], 0.90)
    _job(tmp_path, "b", "linf", [8], 0.80)
    _job(tmp_path, "c", "noise", [8], 0.70)
    assert main([str(tmp_path)]) == 0
    spec = json.loads((tmp_path / "dashboard.json").read_text())
    auroc_grid, table, losses = spec["blocks"]
    assert auroc_grid["panels"][0]["y"] == ["val/auroc"] and auroc_grid["panels"][0]["groupby"] == "job_type"
    assert spec["runsets"][0]["filters"]["group"] == ["table6"]
    rows = {r["variant"]: r for r in table["rows"]}
    assert rows["linf"]["ours"] == 85.0 and rows["linf"]["runs"] == 2
    assert rows["linf"]["paper"] is not None and rows["noise"]["paper"] is not None  # ARAE and DAE of the paper
    assert "train/loss" in losses["panels"][0]["y"]
    assert "publish" in capsys.readouterr().out


def test_dashboard_of_an_empty_folder_is_one_message(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no completed results.json" in capsys.readouterr().err
