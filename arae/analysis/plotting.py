"""Shared figure plumbing: headless matplotlib, PNG output, image grids, optional W&B upload."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display is needed or assumed
import matplotlib.pyplot as plt
import numpy as np
import torch

from arae.wandb_runs import WANDB_RUN_DIR, wandb_run_of  # noqa: F401  (also imported from here)


def to_display(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> what imshow takes: (H, W) for grey, (H, W, 3) for colour."""
    image = image.detach().cpu().float().clamp(0, 1)
    return image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()


def image_grid(rows: Sequence[torch.Tensor], row_labels: Sequence[str], title: str | None = None, scale: float = 1.0):
    """One row per tensor of images (N, C, H, W), labelled on the left."""
    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(scale * n_cols, scale * len(rows) + 0.4), squeeze=False)
    for r, (images, label) in enumerate(zip(rows, row_labels)):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(images):
                ax.imshow(to_display(images[c]), cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def log_to_wandb(paths: Sequence[Path], folder: Path, analysed: Sequence[str | Path] = (), name: str = "analysis",
                 project: str = "arae") -> None:
    """Log the figures as images into the W&B run of each analysed training run (resumed by its id, so
    the figures sit beside its curves); where none of them logged to W&B, into one new `analysis` run
    written under `folder`. Offline unless WANDB_MODE=online (`wandb sync` publishes them later)."""
    import wandb

    mode = os.environ.get("WANDB_MODE", "offline")
    images = {Path(p).stem: str(p) for p in paths}
    targets = {found for found in map(wandb_run_of, analysed) if found is not None}
    inits = [dict(id=run_id, resume="allow", dir=str(run_folder)) for run_folder, run_id in sorted(targets)]
    for init in inits or [dict(job_type="analysis", name=name, dir=str(folder))]:
        run = wandb.init(project=project, mode=mode, **init)
        try:
            run.log({f"analysis/{key}": wandb.Image(value) for key, value in images.items()})
        finally:
            run.finish()
