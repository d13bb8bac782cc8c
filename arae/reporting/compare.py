"""Our results beside a table of the paper: one cell per (budget, part, method, column)."""

from __future__ import annotations

from dataclasses import dataclass

from arae.reporting.collect import COMPLETED, Job
from arae.reporting.paper import Classes, PaperPart, PaperTable, as_classes
from arae.reporting.summary import DEFAULT_METRIC, label, metric_value
from arae.stats import mean_std

MEAN = "mean"


@dataclass(frozen=True)
class Cell:
    epochs: int
    part: str
    method: str
    column: str  # "8", "(4, 5)" or "mean"
    ours: float | None  # AUROC in %, mean over seeds
    ours_std: float | None  # std over seeds
    seeds: int
    paper: float | None
    note: str = ""

    @property
    def diff(self) -> float | None:
        return None if self.ours is None or self.paper is None else self.ours - self.paper


@dataclass(frozen=True)
class Budget:
    """What one method's jobs at one budget cost."""

    epochs: int
    method: str
    jobs: int
    steps: float | None  # optimiser steps per job
    seconds_per_job: float | None
    wall_seconds: float


def budgets_of(table: PaperTable, jobs: list[Job]) -> list[int]:
    datasets = {p.dataset for p in table.parts}
    attacks = set(table.reproduce.values())
    return sorted(
        {
            int(j.get("epochs"))
            for j in jobs
            if j.status == COMPLETED and j.get("dataset") in datasets and j.get("attack") in attacks
        }
    )


def _matching(jobs: list[Job], part: PaperPart, attack: str, epochs: int) -> dict[Classes, list[Job]]:
    found: dict[Classes, list[Job]] = {}
    for job in jobs:
        if (
            job.status == COMPLETED
            and job.get("dataset") == part.dataset
            and job.get("attack") == attack
            and int(job.get("epochs", -1)) == epochs
            and as_classes(job.get("normal_classes")) in part.columns
        ):
            found.setdefault(as_classes(job.get("normal_classes")), []).append(job)
    return found


def _part_cells(part: PaperPart, method: str, runs: dict[Classes, list[Job]], epochs: int, metric: str) -> list[Cell]:
    cells, ours_means, paper_values = [], [], []
    for classes in part.columns:
        values = [100 * v for v in (metric_value(j, metric) for j in runs.get(classes, [])) if v is not None]
        mean, std = mean_std(values)
        paper = part.value(method, classes)
        cells.append(Cell(epochs, part.name, method, label(classes), mean, std, len(values), paper))
        if mean is not None:
            ours_means.append(mean)
            paper_values.append(paper)
    row = part.rows.get(method)
    if len(ours_means) in (0, len(part.columns)):
        paper_mean, note = (row.mean if row else None), ""
    else:  # compare like with like: the paper's mean over the same columns
        known = [p for p in paper_values if p is not None]
        paper_mean = sum(known) / len(known) if row and known and len(known) == len(paper_values) else None
        note = f"over {len(ours_means)} of {len(part.columns)} columns"
    ours_mean = mean_std(ours_means)[0]
    cells.append(Cell(epochs, part.name, method, MEAN, ours_mean, None, len(ours_means), paper_mean, note))
    return cells


def compare(table: PaperTable, jobs: list[Job], metric: str = DEFAULT_METRIC) -> tuple[list[Cell], list[Budget]]:
    """Cells for every budget found, for every method of ours the table reproduces, for every part."""
    cells, budgets = [], []
    for epochs in budgets_of(table, jobs):
        for method, attack in table.reproduce.items():
            used: list[Job] = []
            for part in table.parts:
                runs = _matching(jobs, part, attack, epochs)
                if method not in part.rows and not runs:
                    continue  # the paper has no such row and we ran none
                cells += _part_cells(part, method, runs, epochs, metric)
                used += [j for group in runs.values() for j in group]
            if used:
                budgets.append(_budget(epochs, method, used))
    return cells, budgets


def _budget(epochs: int, method: str, jobs: list[Job]) -> Budget:
    steps = [j.results["steps"] for j in jobs if j.results.get("steps") is not None]
    seconds = [j.results.get("wall_seconds") or 0.0 for j in jobs]
    return Budget(
        epochs=epochs,
        method=method,
        jobs=len(jobs),
        steps=mean_std(steps)[0],
        seconds_per_job=mean_std(seconds)[0],
        wall_seconds=sum(seconds),
    )
