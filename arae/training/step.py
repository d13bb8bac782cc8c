"""One optimisation step of ARAE, the same for every trainer: the inner maximisation (the attack, made
now or fetched from the epoch's store by the crafting schedule), then one step on the outer loss."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def optimisation_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    crafting,
    attack,
    loss,
    x: torch.Tensor,
    index: torch.Tensor,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
) -> dict[str, torch.Tensor]:
    """Returns the loss terms (attached). `backward` is the trainer's (Lightning's manual_backward).

    The gradients are zeroed before the attack, not after it: an attack that leaks gradient on purpose
    (arae/attacks/leak.py, the authors' union script) adds to this step's; every other attack leaves the
    parameters' .grad untouched, so for them the order changes nothing."""
    optimizer.zero_grad(set_to_none=True)
    x_adv = crafting.adversarial(attack, net, x, index)
    terms = loss(net, x, x_adv)
    backward(terms["loss"])
    optimizer.step()
    return terms
