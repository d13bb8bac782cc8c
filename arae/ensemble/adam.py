"""Adam over stacked parameters, one independent optimiser state per member.

Adam is element-wise, so stacking K members' parameters and stepping them together is K separate Adams,
as long as every member steps. Members may not: their epochs can have different numbers of batches
(normal classes of different sizes) or members may stop at different epochs (a resumed member). This
Adam keeps one step count per member and leaves a member's parameters and moments untouched in a step
where it is inactive. The update is torch.optim.Adam's (no weight decay, no amsgrad).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class StackedAdam:
    def __init__(self, params: Sequence[torch.Tensor], members: int, lr: float, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, **unsupported) -> None:
        if weight_decay or amsgrad or unsupported:
            options = {"weight_decay": weight_decay, "amsgrad": amsgrad, **unsupported}
            raise ValueError(f"the ensemble's Adam supports lr, betas and eps only, got {options}")
        self.params = list(params)
        self.members = int(members)
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.steps = [0] * self.members
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: Sequence[bool]) -> None:
        for i, on in enumerate(active):
            self.steps[i] += bool(on)
        steps = [max(s, 1) for s in self.steps]
        device = self.params[0].device
        mask = torch.tensor([bool(a) for a in active], device=device)
        step_size = torch.tensor([self.lr / (1 - self.beta1**s) for s in steps], device=device)
        bc2_sqrt = torch.tensor([(1 - self.beta2**s) ** 0.5 for s in steps], device=device)
        everyone = all(active)
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is None:
                continue
            shape = (-1, *([1] * (p.dim() - 1)))
            g = p.grad
            new_m = m.lerp(g, 1 - self.beta1)
            new_v = (v * self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (new_v.sqrt() / bc2_sqrt.to(p.dtype).view(shape)).add_(self.eps)
            new_p = p - step_size.to(p.dtype).view(shape) * (new_m / denom)
            if everyone:
                m.copy_(new_m), v.copy_(new_v), p.copy_(new_p)
            else:
                on = mask.view(shape)
                m.copy_(torch.where(on, new_m, m)), v.copy_(torch.where(on, new_v, v)), p.copy_(torch.where(on, new_p, p))

    def member_state(self, i: int) -> dict:
        return {"step": self.steps[i], "exp_avg": [m[i].clone() for m in self.exp_avg],
                "exp_avg_sq": [v[i].clone() for v in self.exp_avg_sq]}

    def load_member_state(self, i: int, state: dict) -> None:
        self.steps[i] = int(state["step"])
        with torch.no_grad():
            for m, saved in zip(self.exp_avg, state["exp_avg"]):
                m[i].copy_(saved)
            for v, saved in zip(self.exp_avg_sq, state["exp_avg_sq"]):
                v[i].copy_(saved)
