"""Re-running a job in its own folder: a completed job is not run again, an unfinished one (killed,
interrupted or failed after a checkpoint) continues from its last checkpoint when that checkpoint was made
with the same settings, and anything else it left is set aside before the job starts afresh.

This works when job folders are a function of the job's settings (the reproduce targets name them by
run name under a per-budget sweep folder; `hydra.run.dir=...` names a single run's), so that re-running
the same command lands in the same folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
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
    "eval_every_n_epochs",  # when the AUROC is measured, not what is trained (evaluation draws no random numbers)
    "num_threads",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
)

# Nodes that set nothing of their own: the module and the loss only gather settings of other groups
# (conf/module/, conf/loss/), and an attack's paper_name is a label. Runs recorded before they existed
# have the same settings.
DERIVED_KEYS = ("module", "loss", "attack.paper_name")


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
        k: v
        for k, v in flat.items()
        if not any(k == e or k.startswith(e + ".") for e in (*ENVIRONMENT_KEYS, *DERIVED_KEYS))
    }


def _as_recorded(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as results.json and checkpoints hold it."""
    return json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True)))


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
    that differ. What an unfinished attempt left is for `prepare_attempt`.
    """
    path = Path(output_dir) / RESULTS_FILE
    try:
        results = read_results(path) if path.exists() else {}
    except (OSError, ValueError):
        results = {}
    if results.get("status") != "completed":
        return None
    changed = differences(results.get("config") or {}, _as_recorded(cfg))
    if changed:
        shown = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
        raise ConfigError(
            f"{output_dir} already holds a completed run with other settings ({shown}); to run these "
            "settings, move that folder away, point hydra.sweep.dir elsewhere, or overwrite it with "
            "skip_completed=false"
        )
    return results


# Who wrote a checkpoint: Lightning's Trainer (a separate job) or the ensemble trainer (arae/ensemble/),
# whose checkpoints carry this entry. Each continues only its own.
ENSEMBLE_KEY = "arae_ensemble"
ENSEMBLE_FORMAT = 2  # of the ENSEMBLE_KEY entry (arae/ensemble/checkpoint.py)
LIGHTNING, ENSEMBLE = "lightning", "ensemble"


@dataclass(frozen=True)
class ResumePoint:
    path: Path
    epoch: int  # epochs trained when the checkpoint was written
    writer: str = LIGHTNING  # LIGHTNING or ENSEMBLE


def checkpoint_path(cfg: DictConfig) -> Path | None:
    """Where the checkpoint callback (callbacks.checkpoint) writes, or None when it is switched off."""
    node = (cfg.get("callbacks") or {}).get("checkpoint")
    if not node or "dirpath" not in node:
        return None
    return Path(node.dirpath) / f"{node.get('filename', 'last')}.ckpt"


def resume_point(
    output_dir: Path, cfg: DictConfig, writers: tuple[str, ...] = (LIGHTNING,)
) -> tuple[ResumePoint | None, str]:
    """The checkpoint an unfinished attempt left in `output_dir`, if this job can continue from it (a
    checkpoint of one of `writers`), and else why not."""
    path = checkpoint_path(cfg)
    if path is None or not path.is_file():
        return None, "it left no checkpoint"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        recorded, epoch = checkpoint["arae_detector"]["config"], int(checkpoint["epoch"]) + 1
    except Exception as err:  # unreadable or not one of ours: start afresh, keeping it aside
        return None, f"its checkpoint cannot be read ({type(err).__name__})"
    changed = differences(recorded, _as_recorded(cfg))
    if changed:
        return None, f"its checkpoint has other settings ({', '.join(changed[:6])}{' ...' if len(changed) > 6 else ''})"
    writer = ENSEMBLE if ENSEMBLE_KEY in checkpoint else LIGHTNING
    if writer == ENSEMBLE and checkpoint[ENSEMBLE_KEY].get("format") != ENSEMBLE_FORMAT:
        return None, "its checkpoint was written by an older ensemble trainer, which this one cannot continue"
    if writer not in writers:
        return None, (f"its checkpoint was written by the {writer} trainer (re-run the sweep with "
                      f"{'hydra/launcher=ensemble' if writer == ENSEMBLE else 'another launcher'} to continue it)")
    return ResumePoint(path, epoch, writer), ""


def prepare_attempt(
    output_dir: Path, cfg: DictConfig, writers: tuple[str, ...] = (LIGHTNING,)
) -> ResumePoint | None:
    """Before a job that did not complete runs in `output_dir`: where it continues from, or None after
    setting aside what an earlier attempt left (nothing is deleted)."""
    point, why_not = resume_point(output_dir, cfg, writers)
    if point is not None:
        print(f"resuming {output_dir} from its checkpoint after epoch {point.epoch} ({point.path})")
        return point
    kept = set_aside_previous_attempt(output_dir)
    if kept is not None:
        print(f"starting {output_dir} afresh: an earlier attempt did not complete and {why_not}; kept in {kept}")
    return None
