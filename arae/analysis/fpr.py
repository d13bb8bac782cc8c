"""Figure 5: FPR at 99.5 % TPR per normal class for several variants, from the results.json of runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from arae.analysis.plotting import plt
from arae.errors import DataError
from arae.reporting.collect import completed
from arae.results import RESULTS_FILE, settings_of

METRIC = "fpr@99.5tpr"


def fpr_table(folders: Iterable[str | Path]) -> dict[str, dict[str, list[float]]]:
    """{variant: {normal classes: [FPR of each seed]}} over the completed runs found under `folders`."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for job in completed(*folders):
        results = job.results
        if METRIC not in results.get("test", {}):
            continue
        classes = "_".join(str(c) for c in results["normal_classes"])
        table[settings_of(results)["variant"]][classes].append(float(results["test"][METRIC]))
    if not table:
        raise DataError(f"no completed {RESULTS_FILE} with test/{METRIC} under {', '.join(map(str, folders))}")
    return {v: dict(per_class) for v, per_class in table.items()}


def _class_key(name: str):
    return [int(c) for c in name.split("_")] if all(c.isdigit() for c in name.split("_")) else [name]


def figure(table: dict[str, dict[str, list[float]]], title: str = "FPR at 99.5% TPR (protocol 2)"):
    classes = sorted({c for per_class in table.values() for c in per_class}, key=_class_key)
    variants = sorted(table)
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.7 * len(classes) * len(variants) + 1.5), 3.2))
    x = np.arange(len(classes))
    for i, variant in enumerate(variants):
        means = [np.mean(table[variant][c]) if c in table[variant] else np.nan for c in classes]
        ax.bar(x + (i - (len(variants) - 1) / 2) * width, means, width, label=variant)
    ax.set_xticks(x, classes)
    ax.set_xlabel("normal class")
    ax.set_ylabel("FPR at 99.5% TPR")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def as_rows(table: dict[str, dict[str, list[float]]]) -> list[dict]:
    return [
        {"variant": v, "normal_class": c, "fpr@99.5tpr": float(np.mean(vals)), "runs": len(vals)}
        for v in sorted(table)
        for c, vals in sorted(table[v].items(), key=lambda kv: _class_key(kv[0]))
    ]
