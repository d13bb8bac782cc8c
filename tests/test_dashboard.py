"""arae-dashboard builds a real W&B report (wandb-workspaces) offline from a tiny sweep folder: runs grouped
by the paper's names, AUROC per epoch per class, the last-K table beside the paper; and a local page."""

import json
from types import SimpleNamespace

import pytest
import wandb_workspaces.reports.v2 as wr
from wandb_workspaces.reports.v2 import interface, internal

from arae.dashboard import build_report, main


def _job(root, name, attack, classes, auroc, seed=0, epochs=4, run_id=None):
    folder = root / name
    folder.mkdir(parents=True)
    results = {
        "status": "completed", "dataset": "mnist", "attack": attack, "normal_classes": classes, "seed": seed,
        "epochs": epochs, "run_name": name, "auroc_last_k": {"k": 2, "mean": auroc, "std": 0.01},
        "val_auroc_epochs": [2, 4], "val_auroc_history": [auroc - 0.1, auroc],
        "config": {"group": "mnist-p2", "dataset": {"paper_epochs": 1600}},
    }  # fmt: skip
    (folder / "results.json").write_text(json.dumps(results))
    if run_id:
        (folder / "wandb" / f"offline-run-20261207_101500-{run_id}").mkdir(parents=True)


@pytest.fixture
def offline(monkeypatch):
    """Anything that would reach W&B's servers fails the test."""

    def network(*args, **kwargs):
        raise AssertionError("the report tried to reach W&B")

    monkeypatch.setattr(interface, "_get_api", network)
    monkeypatch.setattr(interface, "execute_graphql", network)


def _sweep(root):
    _job(root, "a", "linf", [8], 0.90, seed=0, run_id="aaaa0001")
    _job(root, "b", "linf", [8], 0.80, seed=1, run_id="aaaa0002")
    _job(root, "c", "noise", [8], 0.70, run_id="aaaa0003")
    _job(root, "d", "noise", [4, 5], 0.60, run_id="aaaa0004")
    _job(root, "e", "union", [4, 5], 0.65)  # logged no W&B run (logger=csv)


def test_the_report_is_a_valid_wandb_workspaces_model_built_offline(tmp_path, capsys, offline):
    _sweep(tmp_path)
    assert main([str(tmp_path)]) == 0
    model = internal.ReportViewspec.model_validate_json((tmp_path / "dashboard.json").read_text())
    report = wr.Report._from_model(model)
    grids = [b for b in report.blocks if isinstance(b, wr.PanelGrid)]
    assert len(grids) == 2  # one per normal class setting: 8 and (4, 5), not pooled
    by_title = {g.runsets[0].name: g for g in grids}
    eight = by_title["mnist, normal class 8"]
    assert "aaaa0001" in eight.runsets[0].filters and "aaaa0003" in eight.runsets[0].filters
    assert "aaaa0004" not in eight.runsets[0].filters
    assert eight.runsets[0].groupby == ["config.attack.value.paper_name"]  # the paper's names, not attacks
    auroc = eight.panels[0]
    assert auroc.x.name == "epoch" and [y.name for y in auroc.y] == ["val/auroc"]
    assert auroc.groupby == wr.Config("attack.paper_name")

    table = next(b.text for b in report.blocks if isinstance(b, wr.MarkdownBlock) and "| variant |" in b.text)
    lines = {tuple(c.strip() for c in line.strip("|").split("|")) for line in table.splitlines()}
    assert ("mnist", "8", "ARAE", "4 (paper: 1600)", "0, 1", "85.0 ± 7.1", "92.4", "-7.4") in lines
    assert ("mnist", "8", "DAE", "4 (paper: 1600)", "0", "70.0", "89.1", "-19.1") in lines
    assert ("mnist", "(4, 5)", "ARAE-A", "4 (paper: 1600)", "0", "65.0", "95.0", "-30.0") in lines
    assert "linf" not in table and "noise" not in table
    assert "--publish ENTITY/PROJECT" in capsys.readouterr().out


def test_identical_scores_across_variants_are_called_the_mean_image_plateau(tmp_path, offline):
    _job(tmp_path, "a", "linf", [8], 0.772, epochs=1)
    _job(tmp_path, "b", "noise", [8], 0.772, epochs=1)
    _job(tmp_path, "c", "union", [8], 0.7721, epochs=1)
    notes = [b for b in build_report(tmp_path).blocks if isinstance(b, wr.CalloutBlock)]
    assert len(notes) == 1 and "mean-image plateau" in str(notes[0].text) and "77.2" in str(notes[0].text)

    _job(tmp_path, "d", "linf_rec", [8], 0.80, epochs=1)  # a variant apart: no plateau to explain
    assert not [b for b in build_report(tmp_path).blocks if isinstance(b, wr.CalloutBlock)]


def test_publish_saves_the_report_into_the_named_project(tmp_path, monkeypatch, capsys):
    _sweep(tmp_path)
    saved = []

    def save(report, draft=False, clone=False):
        saved.append(report)
        return SimpleNamespace(url="https://wandb.example/me/arae-table6/reports/x")

    monkeypatch.setattr(wr.Report, "save", save)
    assert main([str(tmp_path), "--publish", "me/arae-table6"]) == 0
    (report,) = saved
    assert (report.entity, report.project) == ("me", "arae-table6")
    runsets = [rs for b in report.blocks if isinstance(b, wr.PanelGrid) for rs in b.runsets]
    assert runsets and all((rs.entity, rs.project) == ("me", "arae-table6") for rs in runsets)
    assert "saved the report: https://wandb.example" in capsys.readouterr().out
    assert main([str(tmp_path), "--publish", "no-project"]) == 2


def test_the_local_page_shows_the_same_comparison(tmp_path, offline):
    _sweep(tmp_path)
    assert main([str(tmp_path), "--out", str(tmp_path / "page" / "table6.json")]) == 0
    page = (tmp_path / "page" / "table6.html").read_text()
    assert "<td>ARAE-A</td>" in page and "<td>92.4</td>" in page and 'src="table6.png"' in page
    assert (tmp_path / "page" / "table6.png").stat().st_size > 1000


def test_dashboard_of_an_empty_folder_is_one_message(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no completed results.json" in capsys.readouterr().err
