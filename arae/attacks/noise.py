"""The denoising autoencoder's corruption: random, not adversarial."""

from __future__ import annotations

import torch
from torch import nn

from arae.attacks.randomness import Randomness
from arae.errors import ConfigError


class UniformNoise:
    """x + u, u ~ U[low, high] per pixel (the paper's DAE baseline: U[0, 0.1]), clipped to [0, 1] when
    `clip` (the paper does not say; see docs/open-settings.md).

    The model is not used: the loss still reconstructs the clean input from the noisy one.
    """

    def __init__(self, low: float, high: float, clip: bool) -> None:
        if not float(low) < float(high):
            raise ConfigError(f"noise bounds need low < high, got low={low}, high={high}; set them in conf/attack/noise.yaml")
        if not isinstance(clip, bool):
            raise ConfigError(f"attack.adversary.clip must be true or false, got {clip!r}")
        self.low = float(low)
        self.high = float(high)
        self.clip = clip

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        noise = rng.draw(x, lambda rows, generator: torch.empty_like(rows).uniform_(self.low, self.high, generator=generator))
        noisy = x + noise
        return noisy.clamp(0.0, 1.0) if self.clip else noisy
