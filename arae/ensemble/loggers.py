"""Each member's loggers (CSV, W&B, ...) inside the ensemble's Trainer: built from the member's config as its
separate job builds them (each W&B run its own), and fed live, row by row, with the member's metrics at the
member's own steps, as its separate job's are."""

from __future__ import annotations

from typing import Any

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import Logger, WandbLogger

from arae.ensemble.module import member_key
from arae.pipeline import prepared_loggers
from arae.resume import ResumePoint

# WandbLogger settings that are the logger's, not wandb.init's.
WANDB_LOGGER_ONLY = ("_target_", "log_model", "prefix", "checkpoint_name", "save_dir", "experiment")


def _wandb_run(node: DictConfig):
    """A new W&B run for one member, beside the other members' (a WandbLogger would reuse the one run of
    the process), set up as WandbLogger sets up its own."""
    import wandb

    settings = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if k not in WANDB_LOGGER_ONLY}
    run = wandb.init(dir=node.get("save_dir"), resume="allow", reinit="create_new", **settings)
    if hasattr(run, "define_metric"):
        run.define_metric("trainer/global_step")
        run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def member_loggers(cfg: DictConfig, resume: ResumePoint | None) -> list[Logger]:
    """The loggers of a member's config, its hyperparameters logged (as arae.pipeline does for a job); a
    resumed member's continue its files where its checkpoint left them."""
    loggers = []
    for node in (n for n in (cfg.logger or {}).values() if n is not None):
        own_run = issubclass(get_class(node._target_), WandbLogger)
        loggers.append(instantiate(node, experiment=_wandb_run(node)) if own_run else instantiate(node))
    return prepared_loggers(loggers, cfg, resume)


class MemberLogger(Logger):
    """Passes on what is logged under member i's key prefix, without the prefix, at member i's step."""

    def __init__(self, inner: Logger, i: int, module) -> None:
        super().__init__()
        self.inner, self.i, self.module = inner, i, module
        self.prefix = member_key(i, "")

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self):
        return self.inner.version

    @property
    def save_dir(self):
        return self.inner.save_dir

    @property
    def log_dir(self):
        return getattr(self.inner, "log_dir", None)

    @property
    def experiment(self) -> Any:
        return self.inner.experiment

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        return None  # logged when the member's loggers were built

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        own = {k[len(self.prefix):]: v for k, v in metrics.items() if k.startswith(self.prefix)}
        if not own:
            return
        if "epoch" in metrics:
            own["epoch"] = metrics["epoch"]
        self.inner.log_metrics(own, step=None if step is None else self.module.member_step(self.i, step))

    def save(self) -> None:
        self.inner.save()

    def finalize(self, status: str) -> None:
        self.inner.finalize(status)
