"""One member of an ensemble: what its separate job would build (arae.pipeline.build_job) and where its
outputs go (its job's folder, its log file, its checkpoint)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig

from arae.pipeline import JobParts, build_job
from arae.resume import ResumePoint


def random_state() -> dict[str, torch.Tensor]:
    """torch's default generators as they stand (CPU, and the current CUDA device's where there is one)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


@dataclass
class Member:
    cfg: DictConfig  # resolved: it no longer needs the Hydra config of its job
    output_dir: Path
    resume: ResumePoint | None
    log_file: str = "train.log"  # Hydra's <job name>.log in the job's folder
    parts: JobParts = field(init=False)
    random_state: dict[str, torch.Tensor] = field(init=False)
    started: float = field(default_factory=time.perf_counter)
    error: str | None = None

    def build(self) -> None:
        """Build as the separate job would, in its order; the global generators' state after it is where
        its separate job's attack starts drawing, so it becomes this member's own stream."""
        self.parts = build_job(self.cfg)
        self.random_state = random_state()

    @property
    def name(self) -> str:
        return str(self.cfg.run_name)
