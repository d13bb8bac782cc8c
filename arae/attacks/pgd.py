"""Projected gradient ascent on a per-sample objective inside a norm ball (Madry et al. 2017).

The attack is split as in adversarial-robustness libraries: a ball says where the perturbation may go
(random start, steepest-ascent step, projection); PGD says how often to move; the objective says what to
maximise. A new threat model is a new ball class and a config file.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from arae.attacks.base import frozen
from arae.attacks.randomness import Randomness
from arae.errors import ConfigError


def _positive(name: str, value: float) -> float:
    if value is None or not float(value) > 0:
        raise ConfigError(f"{name} must be > 0, got {value}; set it in the attack or dataset config")
    return float(value)


class Ball(Protocol):
    """Where a perturbation may go: how it starts, how it moves along a gradient, how it is brought back."""

    eps: float

    def random_start(self, x: torch.Tensor, rng: Randomness) -> torch.Tensor: ...

    def step(self, grad: torch.Tensor, step_size: float) -> torch.Tensor: ...

    def project(self, delta: torch.Tensor) -> torch.Tensor: ...


def _per_sample_norm(t: torch.Tensor) -> torch.Tensor:
    """L2 norm of each sample, shaped to broadcast against t."""
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


class LinfBall:
    """{δ : ‖δ‖∞ ≤ eps}: uniform random start, sign steps, element-wise clipping."""

    def __init__(self, eps: float) -> None:
        self.eps = _positive("epsilon (L-inf radius)", eps)

    def random_start(self, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        return rng.draw(x, lambda rows, generator: torch.empty_like(rows).uniform_(-self.eps, self.eps, generator=generator))

    def step(self, grad: torch.Tensor, step_size: float) -> torch.Tensor:
        return grad.sign_().mul_(step_size)  # in place: `grad` is the attack's own fresh gradient

    def project(self, delta: torch.Tensor) -> torch.Tensor:
        return delta.clamp(-self.eps, self.eps)

    def box(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-pixel bounds of the ball intersected with [0, 1]: projecting onto both is one clamp."""
        return (x - self.eps).clamp_(min=0.0), (x + self.eps).clamp_(max=1.0)


class L2Ball:
    """{δ : ‖δ‖₂ ≤ eps} per sample: uniform random start inside the ball, steps along the per-sample
    normalised gradient, projection by rescaling onto the ball."""

    def __init__(self, eps: float) -> None:
        self.eps = _positive("epsilon (L2 radius, dataset.l2_epsilon)", eps)

    def random_start(self, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        return rng.draw(x, self._draw_start)

    def _draw_start(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        direction = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        direction = direction / _per_sample_norm(direction).clamp_min(1e-12)
        dim = x[0].numel()
        radius = torch.rand(x.shape[0], *([1] * (x.dim() - 1)), generator=generator, device=x.device, dtype=x.dtype)
        return direction * self.eps * radius.pow(1.0 / dim)  # r = eps·U^(1/d) is uniform in volume

    def step(self, grad: torch.Tensor, step_size: float) -> torch.Tensor:
        return step_size * grad / _per_sample_norm(grad).clamp_min(1e-12)

    def project(self, delta: torch.Tensor) -> torch.Tensor:
        return delta * (self.eps / _per_sample_norm(delta).clamp_min(1e-12)).clamp(max=1.0)


class PGD:
    """Maximise `objective` over x + δ, δ in `ball`, x + δ in [0, 1].

    `step_size=None` takes Madry's rule 2.5·eps/steps, which lets the attack cross the ball within its
    budget. The last iterate is returned, as in the authors' code.
    """

    def __init__(
        self,
        ball: Ball,
        objective,
        steps: int,
        step_size: float | None,
        random_start: bool,
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

    def _projector(self, x: torch.Tensor):
        """x' -> the nearest feasible x' (in the ball around x and in [0, 1]). A ball with a `box` (L-inf)
        makes this a single in-place clamp per step; any other ball projects δ, then clips the pixels."""
        if hasattr(self.ball, "box"):
            low, high = self.ball.box(x)
            return lambda x_adv: x_adv.clamp_(low, high)
        return lambda x_adv: x + self._feasible(x, x_adv - x)

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        return self.ascend(model, x, rng)[0]

    def ascend(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> tuple[torch.Tensor, torch.Tensor]:
        """The last iterate, and the input at which the last gradient was taken (the iterate before the
        final step). The whole batch moves at once: one forward and one input-gradient backward per step,
        parameters frozen so that no weight gradient is computed, and no host synchronisation in the loop."""
        x = x.detach()
        feasible = self._projector(x)
        with frozen(model), torch.enable_grad():
            reference = self.objective.reference(model, x)
            x_adv = feasible(x + self.ball.random_start(x, rng)) if self.random_start else x.clone()
            for step in range(self.steps):
                if step == self.steps - 1:
                    queried = x_adv.detach().clone()  # the steps below update x_adv in place
                x_adv.requires_grad_(True)
                value = self.objective(model, x_adv, reference).sum()
                (grad,) = torch.autograd.grad(value, x_adv)
                x_adv = feasible(x_adv.detach().add_(self.ball.step(grad, self.step_size)))
        return x_adv.detach(), queried
