"""Projected gradient ascent on a per-sample objective inside a norm ball (Madry et al. 2017).

The attack is split as in adversarial-robustness libraries: a ball says where the perturbation may go
(random start, steepest-ascent step, projection); PGD says how often to move; the objective says what to
maximise. A new threat model is a new ball class and a config file.
"""

from __future__ import annotations

import torch
from torch import nn

from arae.attacks.base import frozen
from arae.errors import ConfigError


def _positive(name: str, value: float) -> float:
    if value is None or float(value) <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}; set it in the attack or dataset config")
    return float(value)


class LinfBall:
    """{δ : ‖δ‖∞ ≤ eps}: uniform random start, sign steps, element-wise clipping."""

    def __init__(self, eps: float) -> None:
        self.eps = _positive("epsilon (L-inf radius)", eps)

    def random_start(self, x: torch.Tensor) -> torch.Tensor:
        return torch.empty_like(x).uniform_(-self.eps, self.eps)

    def step(self, grad: torch.Tensor, step_size: float) -> torch.Tensor:
        return step_size * grad.sign()

    def project(self, delta: torch.Tensor) -> torch.Tensor:
        return delta.clamp(-self.eps, self.eps)


class PGD:
    """Maximise `objective` over x + δ, δ in `ball`, x + δ in [0, 1].

    `step_size=None` takes Madry's rule 2.5·eps/steps, which lets the attack cross the ball within its
    budget. The last iterate is returned, as in the authors' code.
    """

    def __init__(
        self,
        ball: LinfBall,
        objective,
        steps: int = 40,
        step_size: float | None = None,
        random_start: bool = True,
    ) -> None:
        if int(steps) < 1:
            raise ConfigError(f"attack steps must be >= 1, got {steps}")
        self.ball = ball
        self.objective = objective
        self.steps = int(steps)
        self.step_size = 2.5 * ball.eps / self.steps if step_size is None else _positive("step_size", step_size)
        self.random_start = random_start

    def _feasible(self, x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        delta = self.ball.project(delta)
        return (x + delta).clamp(0.0, 1.0) - x

    def __call__(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = x.detach()
        with frozen(model), torch.enable_grad():
            reference = self.objective.reference(model, x)
            delta = self.ball.random_start(x) if self.random_start else torch.zeros_like(x)
            delta = self._feasible(x, delta)
            for _ in range(self.steps):
                delta.requires_grad_(True)
                value = self.objective(model, x + delta, reference).sum()
                (grad,) = torch.autograd.grad(value, delta)
                delta = self._feasible(x, delta.detach() + self.ball.step(grad, self.step_size))
        return (x + delta).detach()
