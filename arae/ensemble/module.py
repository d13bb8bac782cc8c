"""The stacked members as one LightningModule, trained by the same Trainer, step and crafting as a separate
job (ARAEModule): only what makes K runs of one batch differs here. Each member's batch is its share of the
stacked batch (Members), its random numbers its own stream (MemberStreams), its loss its own mean, its
optimiser state its own (StackedAdam); what it logs goes under its key prefix (`member_key`) to its own
loggers (arae/ensemble/loggers.py), and what it saves to its own checkpoint file (arae/ensemble/checkpoint.py).
A member whose loss diverges stops alone (`stopped`): it trains, evaluates, logs and saves no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from arae.ensemble.adam import StackedAdam
from arae.ensemble.checkpoint import MEMBERS
from arae.ensemble.data import member_scores
from arae.ensemble.stacked import Members, MemberStreams, StackedNets
from arae.resume import ENSEMBLE_FORMAT, ENSEMBLE_KEY
from arae.scoring import AnomalyMetrics, anomaly_score
from arae.training.module import ARAEModule
from arae.training.step import optimisation_step


def member_key(i: int, key: str) -> str:
    """Where member i's `key` (e.g. val/auroc) is logged in the ensemble: its loggers get it as `key`."""
    return f"m{i}/{key}"


class EnsembleModule(ARAEModule):
    def __init__(self, nets: Sequence[nn.Module], attack, loss, optimizer: dict, crafting, names: Sequence[str],
                 hparams: Sequence[dict], random_states: Sequence[dict[str, torch.Tensor]]) -> None:
        net = StackedNets(nets)
        super().__init__(net, attack, loss, partial(StackedAdam, members=net.members, **optimizer), crafting)
        self.k = net.members
        self.names, self.hparams_of = list(names), list(hparams)
        self.random_states = list(random_states)  # each member's generator state, until training starts
        self.streams: MemberStreams | None = None
        self.steps = [0] * self.k  # each member's optimiser steps
        self.stopped: dict[int, str] = {}  # member -> why it stopped
        self.member_metrics = nn.ModuleList(AnomalyMetrics() for _ in range(self.k))

    # -- what differs for K runs ------------------------------------------------------------------
    def on_fit_start(self) -> None:
        generators = []
        for state in self.random_states:
            generator = torch.Generator(self.device)
            generator.set_state(state[self.device.type])
            generators.append(generator)
        self.streams = MemberStreams(generators, [], 0)

    def random_stream(self) -> MemberStreams:
        """The stacked training set's: each member's rows are its training images."""
        sizes = self.trainer.datamodule.train_sizes()
        return self.streams.bind(sizes, max(sizes))

    def training_step(self, batch, batch_idx: int) -> None:
        index, rows = batch
        runs = Members(rows, self.device, self.stopped)
        x = self._train_images()[index]
        terms = optimisation_step(self.net, self.optimizers(), self.crafting, self.attack, self.loss, x, index,
                                  self.streams.bind(rows, runs.n), backward=self.manual_backward, runs=runs)
        self._accumulate(terms, runs.weights)
        for i, on in enumerate(runs.active):
            self.steps[i] += on
        if batch_idx + 1 == self.trainer.num_training_batches:
            self._check_finite()

    def _check_finite(self) -> None:
        """A member whose epoch loss is nan or inf stops; the others go on (all stopped: training ends)."""
        sums = self._epoch_sums
        for i in map(int, torch.nonzero(~torch.isfinite(sums["loss"])).flatten()):
            if i not in self.stopped:
                self.stopped[i] = (f"TrainingDiverged: the training loss became nan or inf in epoch "
                                   f"{self.current_epoch + 1}; lower optimizer.lr (or attack.gamma, or the attack's "
                                   "step size) and run again")
        if len(self.stopped) == self.k:
            self.trainer.should_stop = True

    def member_losses(self, i: int) -> dict[str, float]:
        sums = self._epoch_sums
        n = sums.get("n")
        if n is None or float(n[i]) == 0:
            return {}
        return {k: float(v[i]) / float(n[i]) for k, v in sums.items() if k != "n"}

    def epoch_losses(self) -> dict[str, float]:
        return {}  # K runs: the progress bar shows no single loss; each member's is in its own lines and logs

    def on_train_epoch_end(self) -> None:
        sums = self._epoch_sums
        if "n" not in sums:
            return
        self.log_dict({member_key(i, f"train/{k}"): v[i] / sums["n"][i] for i in self.running()
                       for k, v in sums.items() if k != "n"})
        self.log("epoch", float(self.current_epoch + 1))  # 1…N, as a separate job's (ARAEModule)

    def running(self) -> list[int]:
        return [i for i in range(self.k) if i not in self.stopped]

    def member_net(self, i: int) -> nn.Module:
        return self.net.member_net(i)

    def member_step(self, i: int, step: int) -> int:
        """Member i's step for a row Lightning logs at the ensemble's `step`: its own steps, less the same
        offset (Lightning logs epoch-end rows one step back)."""
        return self.steps[i] - (self.trainer.global_step - step)

    # -- test ---------------------------------------------------------------------------------------
    def test_step(self, batch, batch_idx: int) -> None:
        x, labels = batch
        scores = anomaly_score(self.net, x)
        for i, metrics in enumerate(self.member_metrics):
            metrics.update(*member_scores(scores, labels, self.k, i))

    def on_test_epoch_end(self) -> None:
        for i in self.running():
            values = self.member_metrics[i].compute()
            self.log_dict({member_key(i, f"test/{k}"): v.float() for k, v in values.items()})
        for metrics in self.member_metrics:
            metrics.reset()

    # -- checkpoints: each member's own entries (arae/ensemble/checkpoint.py) ---------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint.pop("state_dict")
        members = checkpoint.setdefault(MEMBERS, [{} for _ in range(self.k)])
        for i in range(self.k):
            if i in self.stopped:
                members[i] = None
                continue
            state = self.net.member_state(i)
            members[i].update({
                "state_dict": {f"net.{k}": v for k, v in state.items()},
                "hyper_parameters": self.hparams_of[i],
                "global_step": self.steps[i],
                ENSEMBLE_KEY: {"format": ENSEMBLE_FORMAT, "steps": self.steps[i],
                               "random": {self.device.type: self.streams.generators[i].get_state()}},
            })

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        members = checkpoint[MEMBERS]
        checkpoint["state_dict"] = {f"net.{k}": v for k, v in self.net.stacked_state(
            [{k.removeprefix("net."): v for k, v in m["state_dict"].items()} for m in members]).items()}
        self.steps = [int(m[ENSEMBLE_KEY]["steps"]) for m in members]
        self.random_states = [m[ENSEMBLE_KEY]["random"] for m in members]
