"""Markdown and CSV for a grouped summary or for a comparison with a table of the paper."""

from __future__ import annotations

import csv
from pathlib import Path

from arae.reporting.collect import COMPLETED, MISSING, Job
from arae.reporting.compare import MEAN, Budget, Cell
from arae.reporting.paper import PaperTable
from arae.reporting.plateau import plateau_note, plateaued
from arae.reporting.summary import Group

DASH = "—"


def pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return DASH
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _ours(cell: Cell) -> str:
    text = pct(cell.ours)
    if cell.ours_std is not None:
        text += f" ± {cell.ours_std:.1f}"
    return text + ("*" if cell.note else "")


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table: header, rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def one_line(text: str, limit: int = 300) -> str:
    """An error message on one line, cut to `limit` characters."""
    flat = " ".join(text.split()) or "?"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def problems_markdown(jobs: list[Job]) -> list[str]:
    """The jobs that gave no result, each with its folder and what went wrong."""
    lines = []
    for status, title in (("failed", "Failed jobs"), (MISSING, "Jobs without results")):
        bad = [j for j in jobs if j.status == status]
        if bad:
            lines += ["", f"## {title} ({len(bad)})", ""]
            lines += [f"- `{j.name}` in `{j.folder}`: {one_line(j.error)}" for j in bad]
    return lines


def _budget_table(budgets: list[Budget], paper_epochs) -> list[str]:
    rows = [
        [
            b.method,
            str(b.jobs),
            f"{b.epochs}" + (f" (paper: {paper_epochs})" if paper_epochs else ""),
            DASH if b.steps is None else f"{b.steps:.0f}",
            DASH if b.seconds_per_job is None else f"{b.seconds_per_job:.1f}",
            f"{b.wall_seconds:.0f} s" if b.wall_seconds < 120 else f"{b.wall_seconds / 60:.1f} min",
        ]
        for b in budgets
    ]
    return markdown_table(["method", "jobs", "epochs", "optimiser steps / job", "seconds / job", "wall time (sum)"], rows)


def _plateau_notes(cells: list[Cell], columns: list[str], dataset: str, epochs: int, paper_epochs) -> list[str]:
    """A note under a table whose methods all score the same on a column (reporting/plateau.py)."""
    notes = []
    for column in columns:
        values = [c.ours for c in cells if c.column == column and c.column != MEAN and c.ours is not None]
        if plateaued(values):
            notes += ["", "> " + plateau_note(epochs, f"{dataset} {column}", values[0], paper_epochs)]
    return notes


def paper_markdown(
    table: PaperTable,
    cells: list[Cell],
    budgets: list[Budget],
    jobs: list[Job],
    root: Path,
    plots: dict[int, str],
    paper_epochs: dict[int, int | None],
) -> str:
    done = sum(j.status == COMPLETED for j in jobs)
    lines = [
        f"# {table.title}: ours beside the paper",
        "",
        f"{done} completed job(s) under `{root}`. AUROC in %, anomaly = positive class: for each run the mean "
        "test AUROC over its last K epochs (the paper's measure), then mean ± std over seeds. Each method has "
        "three rows: ours, the paper's value, and ours − paper. "
        "Paper values: `arae/reporting/paper_tables.yaml`.",
    ]
    if not cells:
        lines += ["", "No completed job matches this table yet."]
    for epochs in sorted({c.epochs for c in cells}):
        lines += ["", f"## Budget: {epochs} epoch(s) per job", ""]
        lines += _budget_table([b for b in budgets if b.epochs == epochs], paper_epochs.get(epochs))
        for part in table.parts:
            part_cells = [c for c in cells if c.epochs == epochs and c.part == part.name]
            if all(c.ours is None for c in part_cells):
                continue  # nothing of this part was run at this budget
            columns = [c.column for c in part_cells if c.method == part_cells[0].method]
            rows = []
            for method in dict.fromkeys(c.method for c in part_cells):
                by_column = {c.column: c for c in part_cells if c.method == method}
                rows.append([f"**{method}**", "ours", *(_ours(by_column[k]) for k in columns)])
                rows.append(["", "paper", *(pct(by_column[k].paper) for k in columns)])
                rows.append(["", "Δ", *(pct(by_column[k].diff, signed=True) for k in columns)])
            for method, row in part.rows.items():
                if method not in table.reproduce:
                    rows.append([method, "paper", *(pct(v) for v in row.values), pct(row.mean)])
            lines += ["", f"### {part.name} ({part.dataset})", ""]
            lines += markdown_table(["method", "", *columns], rows)
            lines += _plateau_notes(part_cells, columns, part.dataset, epochs, paper_epochs.get(epochs))
            notes = {c.note for c in part_cells if c.note}
            if notes:
                lines += ["", "\\* not every column has a result yet: the mean is " + "; ".join(sorted(notes))
                          + ", and the paper's mean is taken over the same columns."]
        if epochs in plots:
            lines += ["", f"![{table.key} at {epochs} epochs]({plots[epochs]})"]
    lines += problems_markdown(jobs)
    return "\n".join(lines) + "\n"


def paper_csv(path: Path, cells: list[Cell], budgets: list[Budget]) -> None:
    cost = {(b.epochs, b.method): b for b in budgets}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["epochs", "part", "method", "normal_classes", "ours_auroc", "ours_std", "seeds", "paper_auroc",
             "diff", "steps_per_job", "seconds_per_job", "note"]
        )
        for c in cells:
            b = cost.get((c.epochs, c.method))
            writer.writerow(
                [c.epochs, c.part, c.method, c.column, _num(c.ours), _num(c.ours_std), c.seeds, _num(c.paper),
                 _num(c.diff), _num(b.steps if b else None), _num(b.seconds_per_job if b else None), c.note]
            )


def summary_markdown(groups: list[Group], keys: tuple[str, ...], metric: str, jobs: list[Job], root: Path,
                     plot: str | None) -> str:
    done = sum(j.status == COMPLETED for j in jobs)
    rows = [
        [*g.key, str(len(g.values)), _pm(g), DASH if g.seconds_per_job is None else f"{g.seconds_per_job:.1f}"]
        for g in groups
    ]
    lines = [
        f"# Runs under `{root}`",
        "",
        f"{done} completed job(s) of {len(jobs)}. `{metric}` in %, mean ± std over the jobs of each group "
        "(seeds).",
        "",
        *markdown_table([*keys, "jobs", f"{metric} (%)", "seconds / job"], rows),
    ]
    if plot:
        lines += ["", f"![{metric}]({plot})"]
    lines += problems_markdown(jobs)
    return "\n".join(lines) + "\n"


def summary_csv(path: Path, groups: list[Group], keys: tuple[str, ...], metric: str) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*keys, "jobs", f"{metric}_mean", f"{metric}_std", "seconds_per_job"])
        for g in groups:
            mean = None if g.mean is None else 100 * g.mean
            std = None if g.std is None else 100 * g.std
            writer.writerow([*g.key, len(g.values), _num(mean), _num(std), _num(g.seconds_per_job)])


def _pm(group: Group) -> str:
    if group.mean is None:
        return DASH
    return f"{100 * group.mean:.1f}" + ("" if group.std is None else f" ± {100 * group.std:.1f}")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
