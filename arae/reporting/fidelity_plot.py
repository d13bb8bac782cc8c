"""The fidelity report's figures: AUROC against epoch per series, mean over seeds with the seeds' range."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters or in tests
import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from arae.reporting.fidelity import Run


def _stack(runs: list[Run]) -> tuple[np.ndarray, np.ndarray]:
    """Epochs evaluated by every run, and the (seeds, epochs) AUROC at those epochs."""
    common = sorted(set.intersection(*(set(r.epochs) for r in runs)))
    values = np.array([[dict(zip(r.epochs, r.auroc))[e] for e in common] for r in runs])
    return np.array(common), values


def plot_curves(path: Path, normal_class: str, series: dict[str, list[Run]]) -> Path:
    from arae.reporting.fidelity import _paper

    fig, ax = plt.subplots(figsize=(9, 4.8))
    for i, (name, runs) in enumerate(series.items()):
        color = f"C{i}"
        epochs, values = _stack(runs)
        if len(epochs) == 0:
            continue
        ax.plot(epochs, 100 * values.mean(axis=0), color=color, lw=1.2, label=f"{name}, {len(runs)} seed(s)")
        if len(runs) > 1:
            ax.fill_between(epochs, 100 * values.min(axis=0), 100 * values.max(axis=0), color=color, alpha=0.18)
        paper = _paper(runs[0].method, normal_class)
        if paper is not None:
            ax.axhline(100 * paper, color=color, ls=":", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test AUROC (%)")
    ax.set_title(f"MNIST, normal class {normal_class}: AUROC per epoch (dotted: paper)")
    ax.grid(alpha=0.3)
    low = min((np.min(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata()) > 1), default=50.0)
    ax.set_ylim(max(50.0, low - 2), 100)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
