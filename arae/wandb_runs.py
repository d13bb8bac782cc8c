"""Which W&B run a run folder logged to: a run folder holds wandb/[offline-]run-<date>_<time>-<id>[-<n>]/
(W&B adds -<n> when a resumed run starts within the same second as an earlier folder of it)."""

from __future__ import annotations

import re
from pathlib import Path

WANDB_RUN_DIR = re.compile(r"(?:offline-)?run-\d{8}_\d{6}-(?P<id>[a-z0-9]+)(?:-\d+)?")


def wandb_run_of(path: str | Path) -> tuple[Path, str] | None:
    """(run folder, W&B run id) of the training run a checkpoint or run folder belongs to, if it logged to W&B."""
    path = Path(path)
    folder = path if path.is_dir() else (path.parent.parent if path.parent.name == "checkpoints" else path.parent)
    runs = sorted(r for r in (folder / "wandb").glob("*run-*-*") if r.is_dir() and WANDB_RUN_DIR.fullmatch(r.name))
    return (folder, WANDB_RUN_DIR.fullmatch(runs[-1].name)["id"]) if runs else None
