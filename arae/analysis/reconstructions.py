"""Figure 1: inputs (normal, then anomalous) with each model's reconstructions, one row per model."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from arae.analysis.plotting import image_grid
from arae.detector import Detector


def pick_examples(labels: torch.Tensor, n_normal: int, n_anomalous: int) -> torch.Tensor:
    """Indices of `n_normal` normal then `n_anomalous` anomalous test images, spread evenly over the split."""
    chosen = []
    for label, n in ((0, n_normal), (1, n_anomalous)):
        pool = torch.nonzero(labels == label).flatten()
        if n > 0 and len(pool):
            chosen.append(pool[torch.linspace(0, len(pool) - 1, min(n, len(pool))).round().long()])
    return torch.cat(chosen) if chosen else torch.zeros(0, dtype=torch.long)


def reconstruct(detector: Detector, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return detector.net(images.to(detector.device)).cpu()


def figure(detectors: Sequence[Detector], images: torch.Tensor, names: Sequence[str]):
    rows = [images, *(reconstruct(d, images) for d in detectors)]
    return image_grid(rows, ["input", *names], title="Inputs (normal, then anomalous) and reconstructions")
