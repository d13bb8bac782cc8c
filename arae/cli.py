"""What `train.py` runs inside Hydra: one job, a readable summary, and clean messages for user errors."""

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

from arae.pipeline import run_job, user_error
from arae.resume import completed_results


class JobFailed(CompactHydraException):
    """A sweep job stopped by a user error: Hydra prints its message alone, with no traceback."""


def print_summary(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    test = results["test"]
    last = next(v for k, v in results.items() if k.startswith("auroc_last_"))
    table = Table(title=f"{results['run_name']}  ({results['epochs']} epochs)", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("normal classes", ", ".join(map(str, results["normal_classes"])))
    table.add_row("test AUROC", f"{test['auroc']:.4f}")
    table.add_row("test FPR@99.5%TPR", f"{test['fpr@99.5tpr']:.4f}")
    table.add_row("test best F1", f"{test['f1']:.4f}")
    table.add_row(f"AUROC last {last['k']} epochs", f"{last['mean']:.4f} ± {last['std']:.4f}")
    spe = results["seconds_per_epoch"]
    table.add_row("seconds / epoch", f"{spe:.2f}" if spe is not None else "-")
    table.add_row("wall time", f"{results['wall_seconds']:.1f} s")
    table.add_row("results", str(Path(results["output_dir"]) / "results.json"))
    console.print(table)


def run_from_hydra(cfg: DictConfig) -> float:
    """Run one job; return the test AUROC (the value a Hydra sweeper would optimise)."""
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        done = completed_results(output_dir, cfg) if cfg.get("skip_completed") else None
        if done is not None:
            print(f"skipped {cfg.run_name}: {output_dir} holds its completed results.json")
            return done["test"]["auroc"]
        results = run_job(cfg, output_dir)
    except Exception as err:
        problem = user_error(err)
        if problem is None:
            raise
        Console(stderr=True).print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            # The sweep goes on with the other jobs and names this failure at its end, without a traceback.
            raise JobFailed(f"the job in {output_dir} stopped: {problem}") from None
        sys.exit(2)
    print_summary(results)
    return results["test"]["auroc"]
