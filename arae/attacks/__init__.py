"""Framework-free attacks: objects called as attack(model, x, rng) -> x_adv, with no Lightning inside; every
random number comes from `rng` (arae/attacks/randomness.py).

An attack returns B samples for a batch of B, or k*B (k blocks of B, e.g. the union in `concat` mode);
the training loss and the crafting schedules repeat the clean batch to match.
"""

from arae.attacks.base import Attack, NoAttack, copies, frozen
from arae.attacks.fast import FGSMRandomStart
from arae.attacks.leak import LeakyPGD, leaks_gradient
from arae.attacks.noise import UniformNoise
from arae.attacks.objectives import LatentDistance, ReconstructionError
from arae.attacks.pgd import PGD, L2Ball, LinfBall
from arae.attacks.randomness import Randomness, Stream, default_stream
from arae.attacks.spatial import GridSpatial
from arae.attacks.union import Union

__all__ = [
    "Attack",
    "NoAttack",
    "frozen",
    "copies",
    "UniformNoise",
    "LatentDistance",
    "ReconstructionError",
    "PGD",
    "LeakyPGD",
    "leaks_gradient",
    "LinfBall",
    "L2Ball",
    "FGSMRandomStart",
    "GridSpatial",
    "Union",
    "Randomness",
    "Stream",
    "default_stream",
]
