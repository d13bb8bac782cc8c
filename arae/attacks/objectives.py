"""What an attack maximises: per-sample objectives that any gradient or search attack can take.

An objective is prepared once per attack on the clean batch (`reference`), then evaluated on candidate
inputs; it returns one value per sample so that attacks can keep the worst case per sample. The reference
is held fixed (no gradient) unless `attached=True`, which only the gradient leak of the authors' union
script needs (arae/attacks/leak.py).
"""

from __future__ import annotations

import torch
from torch import nn


class LatentDistance:
    """ARAE's inner objective: mean over latent units of (Enc(x') - Enc(x))^2, with Enc(x) held fixed."""

    name = "latent"

    def reference(self, model: nn.Module, x: torch.Tensor, attached: bool = False) -> torch.Tensor:
        if attached:
            return model.encode(x)
        with torch.no_grad():
            return model.encode(x)

    def __call__(self, model: nn.Module, x_adv: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return (model.encode(x_adv) - reference).pow(2).flatten(1).mean(1)


class ReconstructionError:
    """ARAE-R's objective: mean over pixels of (x - Dec(Enc(x')))^2, x being the clean input."""

    name = "reconstruction"

    def reference(self, model: nn.Module, x: torch.Tensor, attached: bool = False) -> torch.Tensor:
        return x

    def __call__(self, model: nn.Module, x_adv: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return (model(x_adv) - reference).pow(2).flatten(1).mean(1)
