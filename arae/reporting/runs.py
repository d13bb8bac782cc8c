"""The completed runs of a study as data: recorded settings, normal class, seed, AUROC curve and timings.
The fidelity and recipe reports read runs through here; labels, statistics and Markdown are theirs.

A budget B below a run's length is read off its first B epochs, which is the same run as one stopped at B
(nothing in training depends on the number of epochs to come).
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arae.reporting.collect import completed
from arae.results import settings_of

LAST_K = 50
ROBUSTNESS_FILE = "robustness.json"  # Table 5 of a run's checkpoint (arae-analyze robustness), beside results.json


@dataclass(frozen=True)
class Run:
    """One completed job. Epochs are counted from 1; `epochs` lists those evaluated."""

    settings: dict[str, Any] = field(compare=False)
    normal_class: str
    seed: int
    epochs: tuple[int, ...]
    auroc: tuple[float, ...]
    epoch_seconds: tuple[float, ...] = ()
    folder: Path | None = None
    robustness: dict[str, float] | None = field(default=None, compare=False)  # {"clean": .., "eps=0.05": ..}

    @property
    def method(self) -> str:
        return str(self.settings.get("variant"))

    @property
    def length(self) -> int:
        return self.epochs[-1] if self.epochs else 0

    @property
    def seconds_per_epoch(self) -> float | None:
        return statistics.fmean(self.epoch_seconds) if self.epoch_seconds else None

    def last_mean(self, budget: int | None = None, k: int = LAST_K) -> float | None:
        """Mean AUROC of the evaluations in the last k epochs of the run stopped at `budget` (its length)."""
        budget = self.length if budget is None else budget
        if budget > self.length:
            return None
        window = [a for e, a in zip(self.epochs, self.auroc) if budget - k < e <= budget]
        return statistics.fmean(window) if window else None

    def at(self, budget: int) -> float | None:
        """AUROC of the last evaluation at or before `budget` (None if the run is shorter)."""
        if budget > self.length:
            return None
        values = [a for e, a in zip(self.epochs, self.auroc) if e <= budget]
        return values[-1] if values else None

    def peak(self, budget: int | None = None) -> tuple[int, float]:
        """(epoch, AUROC) of the highest evaluation up to `budget`."""
        pairs = [(a, e) for e, a in zip(self.epochs, self.auroc) if budget is None or e <= budget]
        auroc, epoch = max(pairs)
        return epoch, auroc

    def reached(self, target: float) -> tuple[int, float] | None:
        """(epoch, wall seconds until the end of it) of the first evaluation at or above `target`."""
        elapsed = list(itertools.accumulate(self.epoch_seconds))
        for epoch, value in zip(self.epochs, self.auroc):
            if value >= target and elapsed:
                return epoch, elapsed[min(epoch, len(elapsed)) - 1]
        return None

    def best_within(self, seconds: float) -> float:
        """The highest AUROC of the epochs that ended within `seconds` of wall time."""
        elapsed = list(itertools.accumulate(self.epoch_seconds))
        inside = [a for e, a in zip(self.epochs, self.auroc) if elapsed and elapsed[min(e, len(elapsed)) - 1] <= seconds]
        return max(inside, default=float("nan"))


def curve(results: dict) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The per-epoch AUROC of a results.json as (epochs, values): `val_auroc_epochs` says which epochs
    were evaluated where an evaluation cadence skipped some; without it, every epoch was."""
    values = tuple(float(v) for v in results.get("val_auroc_history") or ())
    epochs = results.get("val_auroc_epochs") or range(1, len(values) + 1)
    return tuple(int(e) for e in epochs), values


def _robustness(folder: Path) -> dict[str, float] | None:
    path = folder / ROBUSTNESS_FILE
    if not path.is_file():
        return None
    (model,) = json.loads(path.read_text())["models"]  # one checkpoint per run folder
    return {attack: float(values["auroc"]) for attack, values in model["results"].items()}


def to_run(results: dict, folder: Path | None = None) -> Run | None:
    epochs, auroc = curve(results)
    if not auroc:
        return None
    return Run(
        settings=settings_of(results),
        normal_class="_".join(str(c) for c in results.get("normal_classes") or []),
        seed=int(results.get("seed", 0)),
        epochs=epochs,
        auroc=auroc,
        epoch_seconds=tuple(float(s) for s in results.get("epoch_seconds") or ()),
        folder=folder,
        robustness=_robustness(folder) if folder is not None else None,
    )


def load_runs(*roots: Path) -> list[Run]:
    runs = [to_run(job.results, job.folder) for job in completed(*roots)]
    return [r for r in runs if r is not None]


def distinct(runs: Iterable[Run], setting: Callable[[Run], Hashable]) -> tuple[list[Run], list[tuple[Run, Run]]]:
    """One run per (setting, normal class, seed): the longest stands for the seed. A shorter run of the same
    setting and seed is either the start of the longer one or (from other code or another machine) another
    realisation of the same seed; either way it is superseded, not extra evidence (`prefix_gap` tells which).
    Returns the kept runs and the (superseded, by) pairs."""
    longest: dict[tuple, Run] = {}
    superseded = []
    for run in sorted(runs, key=lambda r: -r.length):
        key = (setting(run), run.normal_class, run.seed)
        if key in longest:
            superseded.append((run, longest[key]))
        else:
            longest[key] = run
    return list(longest.values()), superseded


def prefix_gap(short: Run, long: Run) -> float:
    """The largest AUROC difference over the epochs both evaluated: 0 where the shorter run is the start
    of the longer one; above 0 where the two are different realisations of the same seed (other code or
    machine: older runs of a study need not replay bit for bit)."""
    theirs = dict(zip(long.epochs, long.auroc))
    return max((abs(a - theirs[e]) for e, a in zip(short.epochs, short.auroc) if e in theirs), default=0.0)


def class_key(label: str) -> tuple[int, ...]:
    return tuple(int(c) for c in label.split("_") if c.isdigit())
