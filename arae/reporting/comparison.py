"""The variants of a sweep side by side, as a researcher compares them: by the paper's names (DAE, ARAE,
ARAE-A, ARAE-R), per data set and normal classes, at each budget: the last-K AUROC over seeds beside the
paper's value, and the AUROC-per-epoch curves. What arae-dashboard shows in W&B and on its local page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from arae.reporting.collect import Job
from arae.reporting.paper import as_classes, comparison_names, paper_table
from arae.reporting.plateau import plateau_note, plateaued
from arae.reporting.summary import label, metric_value
from arae.stats import mean_std
from arae.variants import display_name
from arae.wandb_runs import wandb_run_of

Key = tuple[str, tuple[int, ...]]  # data set, normal classes


@dataclass(frozen=True)
class Row:
    """One variant at one budget on one data set and normal classes: AUROC in %."""

    dataset: str
    classes: tuple[int, ...]
    variant: str  # the paper's name
    epochs: int
    seeds: tuple[int, ...]
    ours: float | None  # mean over seeds of each run's mean AUROC over its last K epochs
    ours_std: float | None  # std over seeds
    paper: float | None
    paper_epochs: int | None

    @property
    def where(self) -> str:
        return f"{self.dataset} {label(list(self.classes))}"


@dataclass(frozen=True)
class Curve:
    """A variant's AUROC (%) per evaluated epoch (1…N), the mean over its seeds at the epochs they share."""

    dataset: str
    classes: tuple[int, ...]
    variant: str
    epochs: tuple[int, ...]
    auroc: tuple[float, ...]
    seeds: int


def variant_of(job: Job) -> str:
    return display_name(job.results)


def paper_value(dataset: str, variant: str, classes: tuple[int, ...]) -> float | None:
    """The paper's AUROC (%) of a method by its name, for this data set and normal classes (Tables 2, 6)."""
    for key in comparison_names():
        for part in paper_table(key).parts:
            if part.dataset == dataset and (value := part.value(variant, classes)) is not None:
                return value
    return None


def _groups(jobs: list[Job]) -> dict[tuple[str, tuple[int, ...], str, int], list[Job]]:
    groups: dict[tuple[str, tuple[int, ...], str, int], list[Job]] = defaultdict(list)
    for job in jobs:
        key = (job.results["dataset"], as_classes(job.results["normal_classes"]), variant_of(job), int(job.results["epochs"]))
        groups[key].append(job)
    return dict(sorted(groups.items()))


def rows(jobs: list[Job]) -> list[Row]:
    found = []
    for (dataset, classes, variant, epochs), group in _groups(jobs).items():
        values = [100 * v for v in map(lambda j: metric_value(j, "auroc_last"), group) if v is not None]
        mean, std = mean_std(values)
        paper_epochs = {j.get("dataset.paper_epochs") for j in group} - {None}
        found.append(Row(dataset, classes, variant, epochs, tuple(sorted(int(j.results["seed"]) for j in group)),
                         mean, std, paper_value(dataset, variant, classes), min(paper_epochs, default=None)))
    return found


def curves(jobs: list[Job]) -> list[Curve]:
    found = []
    for (dataset, classes, variant, _epochs), group in _groups(jobs).items():
        histories = [dict(zip(j.results.get("val_auroc_epochs") or [], j.results.get("val_auroc_history") or []))
                     for j in group]
        shared = sorted(set.intersection(*(set(h) for h in histories))) if histories else []
        if shared:
            auroc = tuple(100 * sum(h[e] for h in histories) / len(histories) for e in shared)
            found.append(Curve(dataset, classes, variant, tuple(shared), auroc, len(group)))
    return found


def plateau_notes(found: list[Row]) -> list[str]:
    """A note for every data set, classes and budget at which all variants score the same."""
    by_cell: dict[tuple, list[Row]] = defaultdict(list)
    for row in found:
        by_cell[(row.dataset, row.classes, row.epochs)].append(row)
    notes = []
    for (_dataset, _classes, epochs), cell in by_cell.items():
        values = [r.ours for r in cell if r.ours is not None]
        if plateaued(values):
            notes.append(plateau_note(epochs, cell[0].where, values[0], cell[0].paper_epochs))
    return notes


def run_ids(jobs: list[Job]) -> dict[Key, list[str]]:
    """The W&B run ids of the jobs that logged to W&B, per data set and normal classes."""
    ids: dict[Key, list[str]] = defaultdict(list)
    for job in jobs:
        found = wandb_run_of(job.folder)
        if found is not None:
            ids[(job.results["dataset"], as_classes(job.results["normal_classes"]))].append(found[1])
    return dict(ids)
