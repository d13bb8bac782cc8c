"""A run from start to end, and the Hydra task function that `train.py` (`arae-train`) runs.

The path of one run: `train.py` → `arae.train.main` (Hydra parses the command line) → `run_from_hydra`
(here: exit codes, the summary) → `run_job` (here: the job's folder lock, skip or resume, every outcome
recorded in results.json) → `arae.pipeline.train` (build everything from the config, fit, test). The
settings are checked once, by `arae.validation.validate`, when the job is built.
(The command-line tools are arae/detector/cli.py and arae/analysis/cli.py.)"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from pytorch_lightning.utilities.exceptions import SIGTERMException
from rich.console import Console
from rich.table import Table

from arae.errors import StorageError, print_error
from arae.pipeline import train, user_error
from arae.results import LAST_K, RESULTS_FILE, write_json_atomic
from arae.resume import ResumePoint, completed_results, job_lock, prepare_attempt, remove_partial_writes_of
from arae.training.interruption import Interrupted, StopRequest

log = logging.getLogger("arae")


class JobFailed(CompactHydraException):
    """A sweep job stopped by a user error: Hydra prints its message alone, with no traceback."""


def print_summary(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    test = results["test"]
    last = results[LAST_K]
    table = Table(title=f"{results['run_name']}  ({results['epochs']} epochs)", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("normal classes", ", ".join(map(str, results["normal_classes"])))
    table.add_row("test AUROC", f"{test['auroc']:.4f}")
    table.add_row("test FPR@99.5%TPR", f"{test['fpr@99.5tpr']:.4f}")
    table.add_row("test best F1", f"{test['f1']:.4f}")
    spread = "" if last["std"] is None else f" ± {last['std']:.4f}"
    table.add_row(f"AUROC last {last['k']} epochs", f"{last['mean']:.4f}{spread}")
    spe = results["seconds_per_epoch"]
    table.add_row("seconds / epoch", f"{spe:.2f}" if spe is not None else "-")
    table.add_row("wall time", f"{results['wall_seconds']:.1f} s")
    console.print(table)
    # Below the table, on a line of its own: a table cell would cut a long path at the console's width
    # (80 columns when output goes to a file), and markup would eat brackets (normal_class=[4,5]).
    path = Path(results["output_dir"]) / "results.json"
    console.print(f"results: {path}", soft_wrap=True, markup=False, highlight=False)


def validation_objective(results: dict[str, Any], metric: str | None) -> float | None:
    """The value a sweeper optimises: a validation AUROC, never a test one; None without a validation split."""
    if not results.get("has_validation"):
        return None
    if metric == "val/auroc":
        return results["val_auroc_history"][-1]
    return results[LAST_K]["mean"]


def _finish_wandb(failed: bool) -> None:
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=1 if failed else 0)



def _identity(cfg: DictConfig) -> dict[str, Any]:
    try:
        return {"run_name": cfg.run_name}
    except Exception:  # the config itself may be what failed to resolve
        return {}


def recorded_train(cfg: DictConfig, output_dir: Path, resume: ResumePoint | None = None) -> dict[str, Any]:
    """`arae.pipeline.train`, with every outcome recorded in results.json: completed, failed (with its error) or
    interrupted (SIGTERM: stopped at an epoch end, checkpoint saved; SIGINT: stopped at once, from the last
    checkpoint; a re-run resumes it)."""
    failed = True
    with StopRequest(sigint=True) as stop:
        try:
            results = train(cfg, output_dir, stop, resume)
            failed = False
            return results
        except BaseException as err:
            interrupted = stop.requested or isinstance(err, (Interrupted, SIGTERMException))
            payload = {
                "status": "interrupted" if interrupted else "failed",
                "error": f"{type(err).__name__}: {err}",
                "user_error": user_error(err) is not None,
                "overrides": _overrides(),
                "traceback": traceback.format_exc(),
                **_identity(cfg),
            }
            try:
                write_json_atomic(output_dir / RESULTS_FILE, payload)
            except StorageError:  # e.g. the full disk that stopped the run: its own error is the one to report
                log.warning("could not record the failure in %s", output_dir / RESULTS_FILE)
            if interrupted and not isinstance(err, Interrupted):
                raise Interrupted(f"stopped by SIGTERM ({type(err).__name__}: {err})") from err
            raise
        finally:
            _finish_wandb(failed)


def _overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except Exception:
        return []


def run_job(cfg: DictConfig, output_dir: Path) -> tuple[dict[str, Any], bool]:
    """One job in its folder, the one entry for a run: (its results, whether it trained now). Holds the
    folder's lock; a completed job (skip_completed) is not run again, an unfinished one continues from its
    checkpoint where it can (arae/resume.py), and every outcome is recorded in results.json."""
    with job_lock(output_dir):
        remove_partial_writes_of(output_dir, cfg)
        resume = None
        if cfg.get("skip_completed"):
            done = completed_results(output_dir, cfg)
            if done is not None:
                return done, False
            resume = prepare_attempt(output_dir, cfg)
        return recorded_train(cfg, output_dir, resume), True


def run_from_hydra(cfg: DictConfig) -> float | None:
    """Run one job; return its validation objective (`validation_objective`), what a sweeper optimises."""
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        results, trained = run_job(cfg, output_dir)
    except Interrupted as err:
        # The whole process was asked to stop: so is the rest of a sweep.
        Console(stderr=True).print(
            f"[bold yellow]interrupted:[/] {err}. Run the same command again to continue from the last checkpoint.",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(err.status)
    except Exception as err:
        problem = user_error(err)
        if problem is None:
            raise
        print_error(problem)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            # The sweep goes on with the other jobs and names this failure at its end, without a traceback.
            raise JobFailed(f"the job in {output_dir} stopped: {problem}") from None
        sys.exit(2)
    if trained:
        print_summary(results)
    else:
        print(f"skipped {cfg.run_name}: {output_dir} holds its completed results.json")
    return validation_objective(results, cfg.get("optimized_metric"))
