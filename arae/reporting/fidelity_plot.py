"""The fidelity report's figures: AUROC against epoch per series (mean over seeds with the seeds' range),
and the union script's runs beside the authors' log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters or in tests
import matplotlib.pyplot as plt
import numpy as np

from arae.reporting.runs import Run


def _stack(runs: Sequence[Run]) -> tuple[np.ndarray, np.ndarray]:
    """Epochs evaluated by every run, and the (seeds, epochs) AUROC at those epochs."""
    common = sorted(set.intersection(*(set(r.epochs) for r in runs)))
    values = np.array([[dict(zip(r.epochs, r.auroc))[e] for e in common] for r in runs])
    return np.array(common), values


def plot_curves(path: Path, normal_class: str, series: Mapping[str, Sequence[Run]],
                paper: Mapping[str, float | None]) -> Path:
    """One line per series; `paper` gives each series' paper value (a fraction) for a dotted line."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for i, (name, runs) in enumerate(series.items()):
        color = f"C{i % 10}"
        epochs, values = _stack(runs)
        if len(epochs) == 0:
            continue
        ax.plot(epochs, 100 * values.mean(axis=0), color=color, lw=1.2, label=f"{name}, {len(runs)} seed(s)")
        if len(runs) > 1:
            ax.fill_between(epochs, 100 * values.min(axis=0), 100 * values.max(axis=0), color=color, alpha=0.18)
        if paper.get(name) is not None:
            ax.axhline(100 * paper[name], color=color, ls=":", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test AUROC (%)")
    ax.set_title(f"MNIST, normal class {normal_class}: AUROC per epoch (dotted: paper)")
    ax.grid(alpha=0.3)
    longest = max((len(r.epochs) and r.length for runs in series.values() for r in runs), default=0)
    if longest > 400:
        ax.set_xscale("log")
    low = min((np.min(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata()) > 1), default=50.0)
    ax.set_ylim(max(50.0, low - 2), 100)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_union(path: Path, ours: Mapping[str, Mapping[str, Run]], log: Mapping[str, Sequence[float]]) -> Path:
    """One panel per normal class: each setting's curve (`ours[class][setting]`) and the authors' log."""
    classes = sorted(log, key=int)
    fig, axes = plt.subplots(2, 5, figsize=(15, 5.5), sharex=True)
    for ax, c in zip(axes.flat, classes):
        ax.plot(range(1, len(log[c]) + 1), 100 * np.array(log[c]), color="k", lw=1, label="authors' log")
        for i, (setting, run) in enumerate((ours.get(c) or {}).items()):
            ax.plot(run.epochs, 100 * np.array(run.auroc), color=f"C{i}", lw=1, label=setting)
        ax.set_title(f"class {c}", fontsize=9)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=6)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    fig.suptitle("The authors' union script: its log against our runs of its settings (test AUROC, %)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
