"""One optimisation step of ARAE, the same for every trainer: the inner maximisation (the attack, made
now or fetched from the epoch's store by the crafting schedule), then one step on the outer loss."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from arae.attacks import Randomness


class OneRun:
    """The rows of a batch all belong to one run: the loss is their mean and the optimiser steps. (The
    stacked members of an ensemble have their own: arae.ensemble.stacked.Members.)"""

    @staticmethod
    def mean(t: torch.Tensor) -> torch.Tensor:
        return t.mean()

    @staticmethod
    def step(optimizer: torch.optim.Optimizer) -> None:
        optimizer.step()


def optimisation_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    crafting,
    attack,
    loss,
    x: torch.Tensor,
    index: torch.Tensor,
    rng: Randomness,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
    runs=OneRun,
) -> dict[str, torch.Tensor]:
    """Returns the loss terms (attached; one value per run). `backward` is the trainer's (Lightning's
    manual_backward); `rng` gives the attack its random numbers; `runs` says which rows belong to which run.

    The gradients are zeroed before the attack, not after it: an attack that leaks gradient on purpose
    (arae/attacks/leak.py, the authors' union script) adds to this step's; every other attack leaves the
    parameters' .grad untouched, so for them the order changes nothing."""
    optimizer.zero_grad(set_to_none=True)
    x_adv = crafting.adversarial(attack, net, x, index, rng)
    terms = loss(net, x, x_adv, runs.mean)
    backward(terms["loss"].sum())
    runs.step(optimizer)
    return terms
