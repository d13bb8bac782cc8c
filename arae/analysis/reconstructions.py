"""Figure 1: inputs (normal, then anomalous) with each model's reconstructions, one row per model.

The paper's Figure 1 sets DAE beside ARAE-A (its L-inf, L2, rotation and translation union), both
trained on MNIST 8s, and shows anomalous inputs of class 1: DAE reconstructs the 1s, ARAE-A turns them
into 8-like images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from arae.analysis.plotting import image_grid
from arae.detector import Detector
from arae.errors import DataError

PAPER_MODELS = ("DAE", "ARAE-A")


def pick_examples(
    labels: torch.Tensor,
    n_normal: int,
    n_anomalous: int,
    classes: torch.Tensor | None = None,
    anomalous_class: int | None = None,
) -> torch.Tensor:
    """Indices of `n_normal` normal then `n_anomalous` anomalous test images, spread evenly over the split;
    with `anomalous_class`, the anomalous ones all come from that class."""
    anomalous = labels == 1
    if anomalous_class is not None:
        anomalous &= classes == anomalous_class
        if n_anomalous > 0 and not anomalous.any():
            raise DataError(
                f"the test split holds no anomalous image of class {anomalous_class}; "
                "choose another --anomalous-class (not a normal class of these models)"
            )
    chosen = []
    for pool, n in ((labels == 0, n_normal), (anomalous, n_anomalous)):
        index = torch.nonzero(pool).flatten()
        if n > 0 and len(index):
            chosen.append(index[torch.linspace(0, len(index) - 1, min(n, len(index))).round().long()])
    return torch.cat(chosen) if chosen else torch.zeros(0, dtype=torch.long)


def reconstruct(detector: Detector, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return detector.net(images.to(detector.device)).cpu()


def figure(detectors: Sequence[Detector], images: torch.Tensor, names: Sequence[str]):
    rows = [images, *(reconstruct(d, images) for d in detectors)]
    return image_grid(rows, ["input", *names], title="Inputs (normal, then anomalous) and reconstructions")
