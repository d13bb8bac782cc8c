"""The outer minimisation's loss."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from arae.attacks import copies
from arae.errors import ConfigError


def _tile(t: torch.Tensor, k: int) -> torch.Tensor:
    return t if k == 1 else t.repeat(k, *([1] * (t.dim() - 1)))


def _squared_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(a - b)^2 per element, bit for bit, in one pass each way (mse_loss's fused kernels, where the
    subtraction and the power would each make a pass over the batch and their backwards four more)."""
    return F.mse_loss(a, b, reduction="none")


class ARAELoss:
    """L = mean over pixels (x - Dec(Enc(x*)))^2 + gamma * mean over units (Enc(x*) - Enc(x))^2.

    Enc(x) is not detached, as in the authors' code: the latent term pulls both codes together. With
    gamma = 0 the clean encoding is skipped altogether. When the attack made k examples per sample
    (x_adv is k blocks of len(x)), x and Enc(x) are repeated to match: every example counts once.

    `block_gamma` (attack.block_gamma, null by default) gives each of those k blocks its own latent weight
    in place of gamma: block b's mean latent term counts block_gamma[b] / k (gamma / k each otherwise).
    """

    def __init__(self, gamma: float, block_gamma: Sequence[float] | None) -> None:
        if not float(gamma) >= 0:
            raise ConfigError(f"attack.gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.block_gamma = None if block_gamma is None else [float(g) for g in block_gamma]
        if self.block_gamma is not None and not all(g >= 0 for g in self.block_gamma):
            raise ConfigError(f"attack.block_gamma must be a list of weights >= 0, got {block_gamma}")

    def per_example(self, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor) -> dict[str, torch.Tensor]:
        """The two terms for each example of x_adv (k·len(x) values each): the loss is their means."""
        k = copies(x, x_adv)
        z_adv = model.encode(x_adv)
        terms = {"loss_rec": _squared_error(model.decode(z_adv), _tile(x, k)).flatten(1).mean(1)}
        if self.gamma != 0 or self.block_gamma is not None:
            terms["loss_latent"] = _squared_error(z_adv, _tile(model.encode(x), k)).flatten(1).mean(1)
        return terms

    def combine(self, means: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The loss from the terms' means, with the terms beside it (what is logged as train/*)."""
        loss = means["loss_rec"] if self.gamma == 0 else means["loss_rec"] + self.gamma * means["loss_latent"]
        return {"loss": loss, **means}

    def __call__(
        self, model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor,
        mean: Callable[[torch.Tensor], torch.Tensor] = torch.mean,
    ) -> dict[str, torch.Tensor]:
        """The loss and its terms. `mean` reduces per-example values to the batch's mean: one value, or one
        per stacked member of an ensemble (arae.ensemble.stacked.Members.mean)."""
        terms = self.per_example(model, x, x_adv)
        out = self.combine({name: mean(t) for name, t in terms.items()})
        if self.block_gamma is not None:
            k = copies(x, x_adv)
            if len(self.block_gamma) != k:
                raise ConfigError(f"attack.block_gamma has {len(self.block_gamma)} weights, but the attack makes {k} "
                                  "examples per sample (one block per union member, in the members' order)")
            weights = torch.tensor(self.block_gamma, device=x.device) / k
            out["loss"] = out["loss_rec"] + (weights * terms["loss_latent"].view(k, -1).mean(1)).sum()
        return out
