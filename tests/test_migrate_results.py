"""scripts/migrate_results.py brings results.json files of older runs to today's format, once: a file in
today's format is left untouched, and the committed studies are in it."""

from __future__ import annotations

import copy
import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import migrate_results

from arae.reporting import collect
from arae.results import settings_of


def as_older_runs_wrote_it(results: dict) -> dict:
    """A results.json of today as runs of the first week wrote it."""
    old = {("auroc_last_50" if key == "auroc_last_k" else key): value for key, value in copy.deepcopy(results).items()}
    del old["settings"], old["val_auroc_epochs"]
    config = old["config"]
    del config["module"], config["attack"]["paper_name"], config["eval_every_n_epochs"]
    config["loss"].pop("block_gamma")
    config["protocol"]["_target_"] = "arae.data.ProtocolTwo"
    config["callbacks"]["thresholded_f1"]["_target_"] = "arae.evaluation.ThresholdedF1"
    return old


def test_an_older_record_becomes_todays_and_a_second_run_changes_nothing(runs, tmp_path):
    today = json.loads((runs["a"] / "results.json").read_text())
    today["config"]["eval_every_n_epochs"] = 1  # the older runs evaluated every epoch
    old = as_older_runs_wrote_it(today)
    (tmp_path / "run").mkdir()
    path = tmp_path / "run" / "results.json"
    path.write_text(json.dumps(old))
    assert migrate_results.main([str(tmp_path), "--check"]) == 1
    assert json.loads(path.read_text()) == old  # --check writes nothing
    assert migrate_results.main([str(tmp_path)]) == 0
    migrated = json.loads(path.read_text())
    assert migrated == today and list(migrated) == list(today)
    written = path.stat().st_mtime_ns
    assert migrate_results.main([str(tmp_path)]) == 0 and migrate_results.main([str(tmp_path), "--check"]) == 0
    assert path.stat().st_mtime_ns == written  # not rewritten
    (job,) = collect(tmp_path)
    assert settings_of(job.results) == today["settings"] and job.results["auroc_last_k"] == today["auroc_last_k"]


def test_the_dae_noise_of_older_runs_was_clipped(runs):
    config = json.loads((runs["a"] / "results.json").read_text())["config"]
    config["attack"] = {"name": "noise", "gamma": 0.0,
                        "adversary": {"_target_": "arae.attacks.UniformNoise", "low": 0.0, "high": 0.1}}
    migrated = migrate_results.migrate_config(config)
    assert migrated["attack"]["adversary"]["clip"] is True and migrated["attack"]["paper_name"] == "DAE"
    assert "clip" not in config["attack"]["adversary"]  # the record read is not changed in place


def test_the_committed_studies_are_in_todays_format(capsys):
    """New study runs land in today's format; older ones are brought there with the script."""
    assert migrate_results.main([str(REPO / "studies"), "--check"]) == 0, capsys.readouterr().out
