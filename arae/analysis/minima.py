"""Figure 7: local minima of the reconstruction error. Start from uniform noise and descend the error
with respect to the input (kept in [0, 1]); a model that learned the normal class ends at typical images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from arae.attacks import frozen

PAPER_MODELS = ("DAE", "ARAE")  # the paper's Figure 7


def descend(net: nn.Module, start: torch.Tensor, steps: int, lr: float) -> torch.Tensor:
    """Adam on the summed squared reconstruction error of each input, projected onto [0, 1] each step."""
    device = next(net.parameters()).device
    x = start.clone().to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    with frozen(net), torch.inference_mode(False), torch.enable_grad():
        for _ in range(steps):
            error = (net(x) - x).pow(2).flatten(1).sum(1).sum()
            optimizer.zero_grad(set_to_none=True)
            error.backward()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(0, 1)
    return x.detach().cpu()


def noise_starts(n: int, image_shape: Sequence[int], seed: int) -> torch.Tensor:
    return torch.rand((n, *image_shape), generator=torch.Generator().manual_seed(seed))
