"""Framework-free attacks: objects called as attack(model, x) -> x_adv, with no Lightning inside."""

from arae.attacks.base import Attack, NoAttack, frozen
from arae.attacks.fast import FGSMRandomStart
from arae.attacks.objectives import LatentDistance, ReconstructionError
from arae.attacks.pgd import PGD, LinfBall

__all__ = ["Attack", "NoAttack", "frozen", "LatentDistance", "ReconstructionError", "PGD", "LinfBall", "FGSMRandomStart"]
