"""Adam over stacked parameters, one independent optimiser state per member.

Adam is element-wise, so stacking K members' parameters and stepping them together is K separate Adams,
as long as every member steps. Members may not: their epochs can have different numbers of batches
(normal classes of different sizes), and a member whose loss diverged stops. This Adam keeps one step count
per member and leaves a member's parameters and moments untouched in a step where it is inactive
(`step(active=...)`, arae.ensemble.stacked.Members.step). The update is torch.optim.Adam's (no weight
decay, no amsgrad). Its state dict holds one entry per member (arae/ensemble/checkpoint.py splits them).
"""

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
        """torch.optim.Adam's update, in place, with each member's own step count; members not `active`
        keep their parameters and moments (saved before the update, put back after it)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        active = [True] * self.members if active is None else [bool(a) for a in active]
        for i, on in enumerate(active):
            self.steps[i] += on
        params = [p for p in self._params() if p.grad is not None]
        if not params or not any(active):
            return loss
        group = self.param_groups[0]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        steps = [max(s, 1) for s in self.steps]
        like = params[0]
        step_size = torch.tensor([lr / (1 - beta1**s) for s in steps], device=like.device, dtype=like.dtype)
        bc2_sqrt = torch.tensor([(1 - beta2**s) ** 0.5 for s in steps], device=like.device, dtype=like.dtype)
        idle = [i for i, on in enumerate(active) if not on]
        for p in params:
            m, v, g = self.state[p]["exp_avg"], self.state[p]["exp_avg_sq"], p.grad
            kept = [(t, t[idle].clone()) for t in (p, m, v)] if idle else []
            shape = (-1, *([1] * (p.dim() - 1)))
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = v.sqrt().div_(bc2_sqrt.view(shape)).add_(eps)
            p.sub_(m.mul(step_size.view(shape)).div_(denom))  # (lr_t * m) / denom, as addcdiv_ in torch.optim.Adam
            for t, saved in kept:
                t[idle] = saved
        return loss

    def member_state(self, i: int) -> dict:
        params = self._params()
        return {"step": self.steps[i], "exp_avg": [self.state[p]["exp_avg"][i].clone() for p in params],
                "exp_avg_sq": [self.state[p]["exp_avg_sq"][i].clone() for p in params]}

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
