"""The paper's fully connected autoencoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from arae.errors import ConfigError

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "identity": nn.Identity}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _stack(sizes: Sequence[int], activation: str, last_activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        layers.append(_activation(last_activation if i == len(sizes) - 2 else activation))
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    """Encoder D -> hidden_dims, mirrored decoder; an activation after every layer (sigmoid in the paper).

    Takes and returns images of shape (B, *image_shape); the latent code is hidden_dims[-1] wide.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        hidden_dims: Sequence[int],
        activation: str,
        latent_activation: str,
        output_activation: str,
    ) -> None:
        super().__init__()
        if not hidden_dims or any(int(h) <= 0 for h in hidden_dims):
            raise ConfigError(f"model.hidden_dims must be a non-empty list of positive sizes, got {list(hidden_dims)}")
        self.image_shape = tuple(int(s) for s in image_shape)
        in_dim = int(torch.tensor(self.image_shape).prod())
        sizes = [in_dim, *[int(h) for h in hidden_dims]]
        self.encoder = _stack(sizes, activation, latent_activation)
        self.decoder = _stack(sizes[::-1], activation, output_activation)
        self.reset_parameters()

    @property
    def latent_dim(self) -> int:
        return self.encoder[-2].out_features

    def reset_parameters(self) -> None:
        """Glorot-normal weights and zero biases, as in the authors' code."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
