"""Adam over stacked parameters, one independent optimiser state per member.

Row i of every stacked tensor is member i's, and each member is stepped as its separate job's
torch.optim.Adam steps it. Members need not step together: their epochs can have different numbers of
batches (normal classes of different sizes), and a member whose loss diverged stops. This Adam keeps one step
count per member and leaves a member's parameters and moments untouched in a step where it is inactive
(`step(active=...)`, arae.ensemble.stacked.Members.step). The update is torch.optim.Adam's (no weight
decay, no amsgrad). Its state dict holds one entry per member (arae/ensemble/checkpoint.py splits them)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch

from arae.ensemble.checkpoint import MEMBERS

_ADAM = inspect.signature(torch.optim.Adam).parameters  # its defaults are the separate job's, not restated here


class StackedAdam(torch.optim.Optimizer):
    def __init__(self, params, members: int, lr: float, betas=_ADAM["betas"].default, eps=_ADAM["eps"].default,
                 weight_decay=_ADAM["weight_decay"].default, amsgrad=_ADAM["amsgrad"].default, **unsupported) -> None:
        if weight_decay or amsgrad or unsupported:
            options = {"weight_decay": weight_decay, "amsgrad": amsgrad, **unsupported}
            raise ValueError(f"the ensemble's Adam supports lr, betas and eps only, got {options}")
        super().__init__(list(params), {"lr": float(lr), "betas": (float(betas[0]), float(betas[1])), "eps": float(eps)})
        self.members = int(members)
        self.steps = [0] * self.members
        for p in self._params():
            self.state[p] = {"exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def step(self, closure=None, active: Sequence[bool] | None = None):
        """torch.optim.Adam's update (its single-tensor CPU path, op for op), applied to each active member's
        slice of every stacked tensor in turn with the member's own step count; a member not `active` is left
        untouched. Member by member rather than all at once: a member's slices are the size of its separate
        job's tensors and stay in cache across the update's passes, which the K-times larger stacked tensors
        do not (one pass over all members at once was 1.3x slower per member than a separate job's Adam)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        active = [True] * self.members if active is None else [bool(a) for a in active]
        params = [p for p in self._params() if p.grad is not None]
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for i, on in enumerate(active):
            if not on:
                continue
            self.steps[i] += 1
            step = self.steps[i]
            step_size = lr / (1 - beta1**step)
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            for p in params:
                state = self.state[p]
                m, v, g = state["exp_avg"][i], state["exp_avg_sq"][i], p.grad[i]
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
                p[i].addcdiv_(m, denom, value=-step_size)
        return loss

    def member_state(self, i: int) -> dict:
        params = self._params()
        own = {"memory_format": torch.contiguous_format}
        return {"step": self.steps[i], "exp_avg": [self.state[p]["exp_avg"][i].clone(**own) for p in params],
                "exp_avg_sq": [self.state[p]["exp_avg_sq"][i].clone(**own) for p in params]}

    def load_member_state(self, i: int, state: dict) -> None:
        self.steps[i] = int(state["step"])
        for p, m, v in zip(self._params(), state["exp_avg"], state["exp_avg_sq"]):
            self.state[p]["exp_avg"][i].copy_(m)
            self.state[p]["exp_avg_sq"][i].copy_(v)

    def state_dict(self) -> dict:
        return {MEMBERS: [self.member_state(i) for i in range(self.members)]}

    def load_state_dict(self, state_dict: dict) -> None:
        with torch.no_grad():
            for i, state in enumerate(state_dict[MEMBERS]):
                self.load_member_state(i, state)
