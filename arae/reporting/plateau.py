"""The mean-image plateau, said where it shows. Early in training every autoencoder outputs about the mean
training image, so its reconstruction error ranks test images by their distance to that mean, whatever the
attack: DAE, ARAE, ARAE-A and ARAE-R then score the same AUROC (77.2 % on MNIST class 8 after one epoch).
A report that prints identical numbers for every variant says so, rather than leave them to read as a bug."""

from __future__ import annotations

from collections.abc import Sequence

# AUROC points (%): variants closer than this score the same number as a report prints it (one decimal).
SPREAD = 0.1


def plateaued(values: Sequence[float | None]) -> bool:
    """Whether two or more variants' AUROC values (in %) are the same number."""
    known = [v for v in values if v is not None]
    return len(known) >= 2 and max(known) - min(known) < SPREAD


def plateau_note(epochs: int, where: str, value: float, paper_epochs: int | str | None = None) -> str:
    longer = f" (the paper trains {paper_epochs})" if paper_epochs else ""
    return (
        f"At {epochs} epoch(s) every variant scores {value:.1f} on {where}: the mean-image plateau. Early in "
        "training every autoencoder outputs about the mean training image, so the anomaly score ranks images by "
        "their distance to that mean whatever the variant; the budget is below where the variants separate. "
        f"Train longer to compare them{longer}."
    )
