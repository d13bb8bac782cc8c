"""PNG figures of a report: our AUROC per column as bars, the paper's values as black marks."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters or in tests
import matplotlib.pyplot as plt
import numpy as np

from arae.reporting.compare import Cell
from arae.reporting.summary import Group


def plot_paper(path: Path, title: str, cells: list[Cell]) -> Path:
    """One panel per part of the table; per column a bar per method, the paper's value as a mark on it."""
    parts = list(dict.fromkeys(c.part for c in cells if c.ours is not None))
    fig, axes = plt.subplots(len(parts), 1, figsize=(12, 3.6 * len(parts)), squeeze=False)
    for ax, part in zip(axes[:, 0], parts):
        part_cells = [c for c in cells if c.part == part]
        methods = list(dict.fromkeys(c.method for c in part_cells))
        columns = list(dict.fromkeys(c.column for c in part_cells))
        width = 0.8 / len(methods)
        x = np.arange(len(columns))
        for i, method in enumerate(methods):
            by_column = {c.column: c for c in part_cells if c.method == method}
            ours = [by_column[k].ours if by_column.get(k) and by_column[k].ours is not None else np.nan for k in columns]
            paper = [by_column[k].paper if by_column.get(k) and by_column[k].paper is not None else np.nan for k in columns]
            offset = x - 0.4 + width * (i + 0.5)
            ax.bar(offset, ours, width, label=f"{method} (ours)")
            ax.scatter(offset, paper, marker="_", s=160, color="black", zorder=3,
                       label="paper" if i == 0 else None)
        ax.set_xticks(x, columns)
        ax.set_ylabel("AUROC (%)")
        ax.set_title(part)
        low = np.nanmin([c.ours for c in part_cells if c.ours is not None] + [c.paper for c in part_cells if c.paper])
        ax.set_ylim(max(0.0, min(low, 100.0) - 5), 100.5)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars, never on them
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_groups(path: Path, title: str, groups: list[Group]) -> Path:
    """One bar per group (mean over its jobs), with the std over seeds as an error bar."""
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(groups) + 2), 4))
    means = [100 * g.mean if g.mean is not None else np.nan for g in groups]
    stds = [100 * g.std if g.std is not None else 0.0 for g in groups]
    ax.bar(range(len(groups)), means, yerr=stds, capsize=3)
    ax.set_xticks(range(len(groups)), ["\n".join(g.key) for g in groups], fontsize=7)
    ax.set_ylabel(f"{title} (%)")
    finite = [m for m in means if np.isfinite(m)]
    if finite:
        ax.set_ylim(max(0.0, min(finite) - 5), 100.5)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
