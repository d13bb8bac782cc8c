"""The Hydra task function that `train.py` runs: one job, a readable summary, and clean messages for user
errors. (The command-line tools are arae/detector/cli.py and arae/analysis/cli.py.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from arae.errors import ConfigError, print_error
from arae.pipeline import run_job, user_error
from arae.results import LAST_K
from arae.resume import completed_results, job_lock, prepare_attempt, remove_partial_writes_of
from arae.training.interruption import Interrupted


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


OBJECTIVES = ("val/auroc", "val/auroc_last_k_mean")


def check_search(cfg: DictConfig) -> None:
    """A hyperparameter search (`optimized_metric` set, conf/hparams_search/) needs a validation split:
    without one, val/* is computed on the test split, and the search would tune on the test set."""
    metric = cfg.get("optimized_metric")
    if metric is None:
        return
    if metric not in OBJECTIVES:
        raise ConfigError(f"optimized_metric must be one of {', '.join(OBJECTIVES)}, got {metric!r}")
    if not cfg.protocol.get("validation", False):
        raise ConfigError(
            f"the search optimises {metric} on a validation split, but protocol {cfg.protocol.name} has none "
            "(its val/* would be the test split): add protocol=p1 protocol.validation=true"
        )


def validation_objective(results: dict[str, Any], metric: str | None) -> float | None:
    """The value a sweeper optimises: a validation AUROC, never a test one; None without a validation split."""
    if not results.get("has_validation"):
        return None
    if metric == "val/auroc":
        return results["val_auroc_history"][-1]
    return results[LAST_K]["mean"]


def run_from_hydra(cfg: DictConfig) -> float | None:
    """Run one job; return its validation objective (`validation_objective`), what a sweeper optimises."""
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        check_search(cfg)
    except ConfigError as err:  # every trial of the search would fail alike: stop it here
        print_error(err)
        sys.exit(2)
    metric = cfg.get("optimized_metric")
    try:
        with job_lock(output_dir):
            remove_partial_writes_of(output_dir, cfg)
            resume = None
            if cfg.get("skip_completed"):
                done = completed_results(output_dir, cfg)
                if done is not None:
                    print(f"skipped {cfg.run_name}: {output_dir} holds its completed results.json")
                    return validation_objective(done, metric)
                resume = prepare_attempt(output_dir, cfg)
            results = run_job(cfg, output_dir, resume)
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
    print_summary(results)
    return validation_objective(results, metric)
