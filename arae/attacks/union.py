"""ARAE-A: the union of several perturbation sets (Tramèr & Boneh, "Adversarial training and robustness
for multiple perturbations")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from arae.attacks.base import frozen
from arae.attacks.randomness import Randomness
from arae.errors import ConfigError

MODES = ("worst", "concat")


class Union:
    """Runs every member attack on the batch, then either

    - `worst`: keeps per sample the member output with the largest `objective` (B samples out), or
    - `concat`: returns all members' outputs stacked member-major, k blocks of B (k*B samples out), as the
      authors' union script trains on them; the loss and the crafting schedules repeat x to match.

    Members are a mapping name -> attack (a config entry set to null is dropped) or a list. `objective`
    may be None in `concat` mode, which compares nothing.
    """

    def __init__(self, members: Mapping | Sequence, objective, mode: str) -> None:
        named = dict(members.items()) if isinstance(members, Mapping) else dict(enumerate(members))
        self.members = {str(k): v for k, v in named.items() if v is not None}
        if not self.members:
            raise ConfigError("the union attack has no members; list them under attack.adversary.members")
        if mode not in MODES:
            raise ConfigError(f"union mode must be one of {MODES}, got {mode!r}; set attack.adversary.mode")
        if mode == "worst" and objective is None:
            raise ConfigError("union mode 'worst' needs an objective to compare members; set attack.adversary.objective")
        self.mode = mode
        self.objective = objective

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        x = x.detach()
        outputs = [attack(model, x, rng) for attack in self.members.values()]
        if self.mode == "concat":
            return torch.cat(outputs)
        return self.worst(model, x, outputs)

    def worst(self, model: nn.Module, x: torch.Tensor, outputs: list[torch.Tensor]) -> torch.Tensor:
        """Per sample, the candidate among `outputs` with the largest objective."""
        with frozen(model), torch.no_grad():
            reference = self.objective.reference(model, x)
            values = torch.stack([self.objective(model, out, reference) for out in outputs])
            best = values.argmax(dim=0)
            return torch.stack(outputs)[best, torch.arange(x.shape[0], device=x.device)]
