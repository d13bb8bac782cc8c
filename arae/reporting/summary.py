"""Completed jobs grouped by chosen keys: mean ± std of a metric over the jobs of each group (seeds)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from arae.reporting.collect import COMPLETED, Job
from arae.results import LAST_K
from arae.stats import mean_std

# The paper's figure: the mean test AUROC over the last K epochs of a run.
DEFAULT_METRIC = "auroc_last"
DEFAULT_KEYS = ("dataset", "attack", "normal_classes", "epochs")


def metric_value(job: Job, metric: str) -> float | None:
    """`auroc_last` = the mean of the last-K-epochs AUROC; any other name is a dotted key (`test.auroc`)."""
    if metric == DEFAULT_METRIC:
        value = (job.results.get(LAST_K) or {}).get("mean")
    else:
        value = job.get(metric)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def label(value: Any) -> str:
    """How a key value reads in a table: [4, 5] -> "(4, 5)", [8] -> "8" (a list is a set of classes)."""
    if isinstance(value, (list, tuple)):
        value = sorted(value) if all(isinstance(v, int) for v in value) else value
        return str(value[0]) if len(value) == 1 else "(" + ", ".join(map(str, value)) + ")"
    return "-" if value is None else str(value)


@dataclass(frozen=True)
class Group:
    key: tuple[str, ...]
    jobs: tuple[Job, ...]
    values: tuple[float, ...]

    @property
    def mean(self) -> float | None:
        return mean_std(list(self.values))[0]

    @property
    def std(self) -> float | None:
        return mean_std(list(self.values))[1]

    @property
    def seconds_per_job(self) -> float | None:
        return mean_std([j.results["wall_seconds"] for j in self.jobs if j.results.get("wall_seconds")])[0]


def group_jobs(jobs: list[Job], keys: tuple[str, ...], metric: str = DEFAULT_METRIC) -> list[Group]:
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        if job.status == COMPLETED:
            groups.setdefault(tuple(label(job.get(k)) for k in keys), []).append(job)
    result = []
    for key, members in sorted(groups.items(), key=lambda item: [_sortable(v) for v in item[0]]):
        values = tuple(v for v in (metric_value(j, metric) for j in members) if v is not None)
        result.append(Group(key, tuple(members), values))
    return result


def _sortable(text: str) -> tuple:
    """Numbers in numeric order, "(4, 5)" after single classes, other text alphabetically."""
    digits = text.strip("()").replace(",", " ").split()
    if digits and all(d.isdigit() for d in digits):
        return (0, len(digits), [int(d) for d in digits], "")
    return (1, 0, [], text)
