"""The outer minimisation's loss."""

from __future__ import annotations

import torch
from torch import nn

from arae.attacks import copies


def _tile(t: torch.Tensor, k: int) -> torch.Tensor:
    return t.repeat(k, *([1] * (t.dim() - 1)))


class ARAELoss:
    """L = mean over pixels (x - Dec(Enc(x*)))^2 + gamma * mean over units (Enc(x*) - Enc(x))^2.

    Enc(x) is not detached, as in the authors' code: the latent term pulls both codes together. With
    gamma = 0 the clean encoding is skipped altogether. When the attack made k examples per sample
    (x_adv is k blocks of len(x)), x and Enc(x) are repeated to match: every example counts once.
    """

    def __init__(self, gamma: float) -> None:
        if float(gamma) < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)

    def __call__(self, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor) -> dict[str, torch.Tensor]:
        k = copies(x, x_adv)
        z_adv = model.encode(x_adv)
        rec = (_tile(x, k) - model.decode(z_adv)).pow(2).flatten(1).mean(1).mean()
        if self.gamma == 0:
            return {"loss": rec, "loss_rec": rec}
        latent = (z_adv - _tile(model.encode(x), k)).pow(2).flatten(1).mean(1).mean()
        return {"loss": rec + self.gamma * latent, "loss_rec": rec, "loss_latent": latent}
