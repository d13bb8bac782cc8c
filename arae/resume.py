"""Resuming a sweep: a job whose folder already holds a completed results.json is not run again.

This works when job folders are a function of the job's settings (the reproduce targets name them by
run name under a per-budget sweep folder), so that re-running the same sweep lands in the same folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from arae.errors import ConfigError
from arae.results import RESULTS_FILE, read_results

# Settings that say where or how a run was watched, not what it computed: they may differ on resume.
ENVIRONMENT_KEYS = (
    "data_root",
    "dataset.source.root",
    "dataset.source.download",
    "logger",
    "callbacks",
    "group",
    "skip_completed",
    "num_threads",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _experiment(config: dict[str, Any]) -> dict[str, Any]:
    flat = _flatten(config)
    return {
        k: v for k, v in flat.items() if not any(k == e or k.startswith(e + ".") for e in ENVIRONMENT_KEYS)
    }


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The settings (dotted keys) in which two resolved configs differ, environment keys aside."""
    old, new = _experiment(recorded), _experiment(current)
    return sorted(k for k in old.keys() | new.keys() if old.get(k, "<unset>") != new.get(k, "<unset>"))


# What an attempt leaves in its job folder besides Hydra's own files.
ATTEMPT_FILES = (RESULTS_FILE, "csv", "checkpoints", "wandb")


def set_aside_previous_attempt(output_dir: Path) -> Path | None:
    """Move what a failed or killed attempt left (its results.json as results.failed.json, logs,
    checkpoints) into previous_attempts/<n>/, so the new attempt starts clean and nothing is lost."""
    output_dir = Path(output_dir)
    left = [output_dir / name for name in ATTEMPT_FILES if (output_dir / name).exists()]
    if not left:
        return None
    attempts = output_dir / "previous_attempts"
    number = len(list(attempts.iterdir())) + 1 if attempts.exists() else 1
    target = attempts / str(number)
    target.mkdir(parents=True)
    for item in left:
        item.replace(target / ("results.failed.json" if item.name == RESULTS_FILE else item.name))
    return target


def completed_results(output_dir: Path, cfg: DictConfig) -> dict[str, Any] | None:
    """The results of this very job if it already completed in `output_dir`, else None.

    A completed result from *other* settings is never overwritten: that is an error naming the settings
    that differ. What a failed or killed attempt left is set aside and the job runs again.
    """
    path = Path(output_dir) / RESULTS_FILE
    try:
        results = read_results(path) if path.exists() else {}
    except (OSError, ValueError):
        results = {}
    if results.get("status") != "completed":
        set_aside_previous_attempt(output_dir)
        return None
    current = json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True)))  # as results.json holds it
    changed = differences(results.get("config") or {}, current)
    if changed:
        shown = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
        raise ConfigError(
            f"{output_dir} already holds a completed run with other settings ({shown}); to run these "
            "settings, move that folder away, point hydra.sweep.dir elsewhere, or overwrite it with "
            "skip_completed=false"
        )
    return results
