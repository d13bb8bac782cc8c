"""The gradient leak of the authors' union script, reproduced on purpose (off unless asked for).

In `MNIST-union/code.py` of rohban-lab/Salehi_submitted_2020 the optimiser's gradients are zeroed once,
before the attacks, and every PGD iteration calls `model.zero_grad()`, then `backward()` on its latent MSE
with the clean and the attacked encoding both attached to the graph. When the training loss is then
backpropagated, the parameters' `.grad` still holds the gradient of the last L-inf iteration's latent MSE
(taken at the iterate before the final step), and the optimiser step descends the sum. arae's attacks never
touch parameter gradients; `LeakyPGD` adds that gradient, weighted, so that the script's update can be run
as it was (attack=union_script attack.leak_weight=1.0) and told apart from the loss the paper writes.
"""

from __future__ import annotations

import torch
from torch import nn

from arae.attacks.pgd import PGD
from arae.attacks.randomness import Randomness
from arae.errors import ConfigError


class LeakyPGD(PGD):
    """PGD that, after the attack, adds `leak_weight` times the parameter gradient of the batch mean of its
    objective at the last queried input (the reference attached, in float32) to the parameters' `.grad`.

    The training step zeroes the gradients before the attack (arae.training.step), so the optimiser step
    descends this leak plus the training loss, as in the script. With `leak_weight` 0 it is plain PGD.
    Only per-batch crafting keeps the leak (an epoch's examples are made before its first step)."""

    leaks_gradient = True

    def __init__(self, ball, objective, steps: int, step_size: float | None, random_start: bool,
                 leak_weight: float) -> None:
        super().__init__(ball, objective, steps, step_size, random_start)
        if not float(leak_weight) >= 0:  # also refuses nan
            raise ConfigError(f"leak_weight must be >= 0, got {leak_weight}; 1.0 is the authors' union script, 0 none")
        self.leak_weight = float(leak_weight)

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        x_adv, queried = self.ascend(model, x, rng)
        if self.leak_weight:
            self.leak(model, x, queried)
        return x_adv

    def leak(self, model: nn.Module, x: torch.Tensor, queried: torch.Tensor) -> None:
        with torch.enable_grad(), torch.autocast(device_type=x.device.type, enabled=False):
            reference = self.objective.reference(model, x.detach().float(), attached=True)
            value = self.objective(model, queried.float(), reference).mean()
            (self.leak_weight * value).backward()


def leaks_gradient(attack) -> bool:
    """Whether `attack`, or a member of it (a union), leaks gradient into the training step."""
    members = getattr(attack, "members", None)
    if isinstance(members, dict):
        return any(leaks_gradient(member) for member in members.values())
    return bool(getattr(attack, "leaks_gradient", False)) and bool(getattr(attack, "leak_weight", 0))
