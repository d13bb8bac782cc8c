"""The callbacks of an ensemble's Trainer: which configured ones it honours and how.

One Trainer runs the stacked members, so a callback about the training as a whole (the progress bar, the
checkpoint cadence, the epoch timer) is honoured as it is (SHARED). A callback about one run (its
evaluation, its F1, its detector entry, its W&B media, its log lines) is built once per member, from that
member's config as its separate job builds it, and called with that member's view of the Trainer and the
module (`PerMember`): its data, its loggers, its net, its metrics. Any other configured callback is refused
with a message that names it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytorch_lightning as pl

from arae.ensemble.checkpoint import MEMBERS
from arae.ensemble.module import member_key
from arae.errors import ConfigError
from arae.training.checkpointing import EpochCheckpoint
from arae.training.progress import EpochLines, ProgressBar
from arae.training.thresholded_f1 import ThresholdedF1
from arae.training.timing import TrainingBudget
from arae.training.wandb_media import WandbMedia
from arae.training.wandb_model import WandbModel

SHARED = (ProgressBar, EpochCheckpoint)
PER_MEMBER = (EpochLines, ThresholdedF1, WandbMedia, WandbModel)
WHY_NOT = {
    TrainingBudget: "a training-time budget stops each separate job after its own epochs; the members of one "
                    "ensemble share their epochs",
}


class MemberTrainer:
    """The Trainer as member i's callbacks see it: its DataModule, its loggers, its logged metrics."""

    def __init__(self, trainer: pl.Trainer, i: int, loggers: list) -> None:
        self._trainer, self._i, self.loggers = trainer, i, loggers

    @property
    def datamodule(self):
        return self._trainer.datamodule.members[self._i]

    @property
    def logger(self):
        return self.loggers[0] if self.loggers else None

    @property
    def checkpoint_callbacks(self) -> list:
        """The checkpoint callbacks as member i's see them: what they save lands in member i's own file
        (MemberCheckpointIO), so that is the path they name."""
        path = self._trainer.strategy.checkpoint_io.paths[self._i]
        views = []
        for callback in self._trainer.checkpoint_callbacks:
            view = copy.copy(callback)
            view.path = path
            views.append(view)
        return views

    @property
    def callback_metrics(self) -> dict:
        prefix = member_key(self._i, "")
        return {k[len(prefix):]: v for k, v in self._trainer.callback_metrics.items() if k.startswith(prefix)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trainer, name)


class MemberModule:
    """The module as member i's callbacks see it: its net (a plain copy), its losses, its metric keys."""

    def __init__(self, module, i: int) -> None:
        self._module, self._i = module, i
        self.run_name = module.names[i]

    @property
    def net(self):
        return self._module.member_net(self._i)

    def epoch_losses(self) -> dict[str, float]:
        return self._module.member_losses(self._i)

    def log(self, name: str, value, **kwargs) -> None:
        self._module.log(member_key(self._i, name), value, **kwargs)

    def log_dict(self, values: dict, **kwargs) -> None:
        self._module.log_dict({member_key(self._i, k): v for k, v in values.items()}, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class PerMember(pl.Callback):
    """`callbacks[i]` is member i's; each hook calls the running members' with their views."""

    HOOKS = ("setup", "on_fit_start", "on_train_start", "on_train_epoch_start", "on_train_epoch_end", "on_train_end",
             "on_test_start", "on_test_epoch_end", "on_test_end", "teardown")

    def __init__(self, name: str, callbacks: list[pl.Callback], loggers: list[list]) -> None:
        self.name, self.callbacks, self.loggers = name, list(callbacks), loggers

    @property
    def state_key(self) -> str:
        return f"PerMember[{self.name}]"

    def _each(self, hook: str, trainer, module, *args, **kwargs) -> None:
        for i in module.running():
            view = MemberTrainer(trainer, i, self.loggers[i]), MemberModule(module, i)
            getattr(self.callbacks[i], hook)(*view, *args, **kwargs)

    def on_save_checkpoint(self, trainer, module, checkpoint: dict) -> None:
        members = checkpoint.setdefault(MEMBERS, [{} for _ in self.callbacks])
        for i in module.running():
            self.callbacks[i].on_save_checkpoint(MemberTrainer(trainer, i, self.loggers[i]), MemberModule(module, i),
                                                 members[i])

    def state_dict(self) -> dict:
        states = [callback.state_dict() for callback in self.callbacks]
        return {MEMBERS: states} if any(states) else {}

    def load_state_dict(self, state_dict: dict) -> None:
        for callback, state in zip(self.callbacks, state_dict[MEMBERS]):
            callback.load_state_dict(state)


def _forward(hook: str):
    def call(self, trainer, module, *args, **kwargs) -> None:
        self._each(hook, trainer, module, *args, **kwargs)

    return call


for _hook in PerMember.HOOKS:
    setattr(PerMember, _hook, _forward(_hook))


def configured(instances: list[dict[str, pl.Callback]], loggers: list[list]) -> list:
    """The configured callbacks (`instances[i]`: member i's, by config key) as the ensemble honours them."""
    out = []
    for name, first in instances[0].items():
        kind = type(first)
        if kind in WHY_NOT or not issubclass(kind, SHARED + PER_MEMBER):
            why = WHY_NOT.get(kind, "the ensemble does not know how to run it for each member")
            raise ConfigError(f"callbacks.{name} ({kind.__name__}) is not supported by hydra/launcher=ensemble: {why}; "
                              f"remove it (~callbacks.{name}) or run the sweep without hydra/launcher=ensemble")
        out.append(first if issubclass(kind, SHARED) else PerMember(name, [c[name] for c in instances], loggers))
    return out
