"""Cheaper inner maximisations from the adversarial-training literature.

Wong, Rice & Kolter (2020), "Fast is better than free": a single signed-gradient step from a uniform
random start in the ball, with a step of 1.25·eps, trains nearly as robust models as multi-step PGD at
a fraction of the cost. Here it is PGD with one step, so it shares PGD's projection and objectives.
"""

from __future__ import annotations

from arae.attacks.pgd import PGD, _positive


class FGSMRandomStart(PGD):
    """One step of size `step_factor`·eps from a uniform random start (FGSM-RS); one forward and one
    input-gradient backward of the encoder per sample instead of PGD's `steps` of each."""

    def __init__(self, ball, objective, step_factor: float) -> None:
        step_factor = _positive("step_factor", step_factor)
        super().__init__(ball, objective, steps=1, step_size=step_factor * ball.eps, random_start=True)
        self.step_factor = step_factor
