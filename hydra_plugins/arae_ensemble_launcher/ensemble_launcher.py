"""The Hydra launcher `hydra/launcher=ensemble`: its work is arae.ensemble.sweep.EnsembleSweep.

Hydra imports every launcher plugin module at start-up (its plugin scan, on every command, `--help`
included), so this module imports nothing heavy: torch, Lightning and the ensemble engine are imported
only when Hydra builds this launcher for a sweep that uses it."""

from collections.abc import Sequence

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class EnsembleLauncher(Launcher):
    def __init__(self, max_members: int) -> None:
        from arae.ensemble.sweep import EnsembleSweep  # torch and Lightning: only for a sweep that launches

        self.sweep = EnsembleSweep(max_members)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweep.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        return self.sweep.launch(job_overrides, initial_job_idx)
