"""Estimates over seeds: the mean with its 95 % confidence interval, and paired differences."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from arae.stats import mean_std

# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)


@dataclass(frozen=True)
class Estimate:
    """Mean over seeds and the half-width of its 95 % confidence interval (None for one seed)."""

    mean: float
    half: float | None
    n: int

    def text(self, scale: float = 100.0, signed: bool = False) -> str:
        sign = "+" if signed else ""
        mean = f"{self.mean * scale:{sign}.1f}"
        return mean if self.half is None else f"{mean} ± {self.half * scale:.1f}"

    @property
    def low(self) -> float | None:
        return None if self.half is None else self.mean - self.half

    @property
    def high(self) -> float | None:
        return None if self.half is None else self.mean + self.half


def estimate(values: Sequence[float | None]) -> Estimate | None:
    """Mean and 95 % CI half-width (t distribution, sample std) of independent replicates."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    if len(values) == 1:
        return Estimate(values[0], None, 1)
    df = len(values) - 1
    t = T975[df - 1] if df <= len(T975) else 1.96
    mean, std = mean_std(values)  # sample std, the project's one convention (arae/stats.py)
    return Estimate(mean, t * std / math.sqrt(len(values)), len(values))


R = TypeVar("R")


def paired(a: Sequence[R], b: Sequence[R], value: Callable[[R], float | None],
           seed: Callable[[R], int] = lambda r: r.seed) -> tuple[Estimate | None, int]:
    """Estimate of value(a) - value(b) over the seeds both have (a paired comparison), and the pairs."""
    by_seed = {seed(r): r for r in b}
    diffs = []
    for run in a:
        other = by_seed.get(seed(run))
        if other is None:
            continue
        x, y = value(run), value(other)
        if x is not None and y is not None:
            diffs.append(x - y)
    return estimate(diffs), len(diffs)


def text(value: Estimate | None, signed: bool = False) -> str:
    return "–" if value is None else value.text(signed=signed)
