"""Re-running a job in its own folder: a completed job is not run again, an unfinished one (killed,
interrupted or failed after a checkpoint) continues from its last checkpoint when that checkpoint was made
with the same settings, and anything else it left is set aside before the job starts afresh.

This works when job folders are a function of the job's settings (the reproduce targets name them by
run name under a per-budget sweep folder; `hydra.run.dir=...` names a single run's), so that re-running
the same command lands in the same folder.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from arae.errors import ConfigError
from arae.results import RESULTS_FILE, read_results, remove_partial_writes

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
        if not any(k == e or k.startswith(e + ".") for e in ENVIRONMENT_KEYS)
    }


def _as_recorded(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as results.json and checkpoints hold it."""
    return json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True)))


# Where the data were read: an environment key (the same data may move), but other data at the same settings
# would make a completed job's result stand for data it never saw, so a change is named.
DATA_KEYS = ("data_root", "dataset.source.root")


def data_moved(recorded: dict[str, Any], current: dict[str, Any]) -> str | None:
    """How the data location differs between a recorded and the current config, or None."""
    old, new = _flatten(recorded), _flatten(current)
    for key in DATA_KEYS:
        if key in old and key in new and old[key] != new[key]:
            return f"its data came from {old[key]}, this run's from {new[key]} ({key})"
    return None


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The settings (dotted keys) in which two resolved configs differ, environment keys aside."""
    old, new = _experiment(recorded), _experiment(current)
    return sorted(k for k in old.keys() | new.keys() if old.get(k, "<unset>") != new.get(k, "<unset>"))


LOCK_FILE = ".arae.lock"


@contextmanager
def job_lock(output_dir: Path) -> Iterator[None]:
    """Held while a job runs in `output_dir`: a second run of the same folder (the same command twice at
    once) refuses instead of writing every log row twice. An OS lock (flock), so the kernel releases it
    when the process ends, however it ends: a killed run never leaves it behind."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another run is using {output_dir} (it holds {LOCK_FILE} there): wait for it to end, or give this "
                "run another folder (hydra.run.dir, or hydra.sweep.dir for a sweep)"
            ) from None
        yield  # closing the file releases the lock


def remove_partial_writes_of(output_dir: Path, cfg: DictConfig) -> None:
    """What writes killed midway (SIGKILL while a checkpoint was written) left in the folders this job writes
    (never below them: hydra.run.dir may hold other jobs' folders); only under job_lock."""
    checkpoints = checkpoint_path(cfg)
    own = [Path(output_dir), *(Path(output_dir) / name for name in ("csv", "checkpoints"))]
    folders = {*own, *([checkpoints.parent] if checkpoints else [])}
    removed = [path for folder in sorted(folders) for path in remove_partial_writes(folder)]
    if removed:
        names = ", ".join(p.name for p in removed[:3]) + (" ..." if len(removed) > 3 else "")
        print(f"removed {len(removed)} partial file{'s' if len(removed) > 1 else ''} that a killed run left in "
              f"{output_dir} ({names})")


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
    results = _readable_results(path) if path.exists() else {}
    if results.get("status") != "completed":
        return None
    recorded, current = results.get("config") or {}, _as_recorded(cfg)
    changed = differences(recorded, current)
    if changed:
        shown = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
        raise ConfigError(
            f"{output_dir} already holds a completed run with other settings ({shown}); to run these "
            "settings, move that folder away, point hydra.sweep.dir elsewhere, or overwrite it with "
            "skip_completed=false"
        )
    moved = data_moved(recorded, current)
    if moved:
        print(f"note: {output_dir} completed with the same settings but {moved}; if those data differ, move the "
              "folder away or pass skip_completed=false to train on these")
    return results


def _readable_results(path: Path) -> dict[str, Any]:
    """A job's results.json, or {} (said aloud) when it cannot be read: the job then runs again, from its
    checkpoint when it left one, and writes it anew."""
    try:
        results = read_results(path)
        if not isinstance(results, dict):
            raise ValueError(f"it holds a {type(results).__name__}, not a record")
        return results
    except (OSError, ValueError) as err:
        print(f"{path} cannot be read ({type(err).__name__}): the job runs again, from its checkpoint if it "
              "left one, and writes it anew")
        return {}


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
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as the checkpoint holds it


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
    import torch  # here, not at the top: `${environment_keys:}` imports this module on `--help`

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
    return ResumePoint(path, epoch, writer, recorded), ""


def prepare_attempt(
    output_dir: Path, cfg: DictConfig, writers: tuple[str, ...] = (LIGHTNING,)
) -> ResumePoint | None:
    """Before a job that did not complete runs in `output_dir`: where it continues from, or None after
    setting aside what an earlier attempt left (nothing is deleted)."""
    point, why_not = resume_point(output_dir, cfg, writers)
    if point is not None:
        print(f"resuming {output_dir} from its checkpoint after epoch {point.epoch} ({point.path})")
        moved = data_moved(point.config, _as_recorded(cfg))
        if moved:
            print(f"note: {moved}; the run goes on with this run's data")
        return point
    kept = set_aside_previous_attempt(output_dir)
    if kept is not None:
        print(f"starting {output_dir} afresh: an earlier attempt did not complete and {why_not}; kept in {kept}")
    return None
