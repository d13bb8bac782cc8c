"""The convolutional autoencoder of Bergmann et al. 2019 (the paper's model for CIFAR-10 and the medical
data sets), its layer plan adapted to the input size.

Bergmann et al. give the plan for 128x128 inputs: four stride-2 4x4 convolutions (with 3x3 stride-1
convolutions between them) take 128 to 8, then one 8x8 'valid' convolution gives a 1x1 latent code of
`latent_dim` channels; the decoder mirrors it with transposed convolutions. Other input sizes are our
choice (the paper is silent). By default (`latent_kernel=None`) the plan keeps its four halvings and the
last kernel is the side left after them (input / 16): 32x32 (CIFAR-10) ends in a 2x2 kernel, 256x256
(Brain MRI) in a 16x16 one. With `latent_kernel=k` the number of halvings changes instead, so that the
last kernel is k x k (k=8: Bergmann's 8x8 at every size): fewer halvings turn the first stride-2 layers
into 3x3 stride-1 ones, more prepend further stride-2 4x4 layers of 32 channels. LeakyReLU(0.2) after
every layer but the latent and the output, as in their paper; the output activation is a setting
(Bergmann et al.'s is linear, `identity`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from arae.errors import ConfigError

# (out_channels, kernel, stride, padding) of the encoder before the latent layer (Bergmann et al., Table 1).
ENCODER_PLAN = (
    (32, 4, 2, 1),
    (32, 4, 2, 1),
    (32, 3, 1, 1),
    (64, 4, 2, 1),
    (64, 3, 1, 1),
    (128, 4, 2, 1),
    (64, 3, 1, 1),
    (32, 3, 1, 1),
)
DOWNSAMPLING = 16  # four stride-2 layers

ACTIVATIONS = {
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def layer_plan(halvings: int) -> tuple[tuple[int, int, int, int], ...]:
    """The encoder plan before the latent layer with this many stride-2 layers (Bergmann et al.: 4)."""
    extra = halvings - 4
    if extra >= 0:
        return ((32, 4, 2, 1),) * extra + ENCODER_PLAN
    plan, to_drop = [], -extra
    for channels, kernel, stride, padding in ENCODER_PLAN:
        if stride == 2 and to_drop:
            plan.append((channels, 3, 1, 1))
            to_drop -= 1
        else:
            plan.append((channels, kernel, stride, padding))
    return tuple(plan)


def halvings_for(side: int, latent_kernel: int | None) -> int:
    """Stride-2 layers that take `side` down to the last kernel (None: Bergmann's four)."""
    if latent_kernel is None:
        return 4
    kernel = int(latent_kernel)
    ratio = side // kernel if kernel > 0 else 0
    if kernel <= 0 or side % kernel or ratio < 2 or ratio & (ratio - 1):
        raise ConfigError(
            f"model.latent_kernel={latent_kernel} needs image sides of latent_kernel x 2^n (n >= 1), got {side}; "
            "choose another model.latent_kernel, or null for input side / 16"
        )
    return ratio.bit_length() - 1


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class ConvAutoencoder(nn.Module):
    """Takes and returns images (B, C, H, W); H and W must be multiples of 16. Latent: (B, latent_dim)."""

    def __init__(
        self,
        image_shape: Sequence[int],
        latent_dim: int,
        activation: str,
        latent_activation: str,
        output_activation: str,
        latent_kernel: int | None,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        channels, height, width = self.image_shape
        if latent_kernel is None and (height % DOWNSAMPLING or width % DOWNSAMPLING or min(height, width) < DOWNSAMPLING):
            raise ConfigError(
                f"model=conv needs image sides that are multiples of {DOWNSAMPLING} (at least {DOWNSAMPLING}), "
                f"got {height}x{width}; set dataset.source.image_size (e.g. 32, 64, 128 or 256)"
            )
        if int(latent_dim) <= 0:
            raise ConfigError(f"model.latent_dim must be positive, got {latent_dim}")
        self.latent_dim = int(latent_dim)
        halvings = halvings_for(height, latent_kernel)
        if halvings_for(width, latent_kernel) != halvings:
            raise ConfigError(f"model.latent_kernel={latent_kernel} needs square images, got {height}x{width}")
        self.plan = layer_plan(halvings)
        bottleneck = (height >> halvings, width >> halvings)

        encoder: list[nn.Module] = []
        n_in = channels
        for n_out, kernel, stride, padding in self.plan:
            encoder += [nn.Conv2d(n_in, n_out, kernel, stride, padding), _activation(activation)]
            n_in = n_out
        encoder += [nn.Conv2d(n_in, self.latent_dim, bottleneck), _activation(latent_activation)]
        self.encoder = nn.Sequential(*encoder)

        decoder: list[nn.Module] = [nn.ConvTranspose2d(self.latent_dim, n_in, bottleneck), _activation(activation)]
        mirrored = self.plan[::-1]
        outputs = [c for c, *_ in mirrored[1:]] + [channels]
        for (_, kernel, stride, padding), n_out in zip(mirrored, outputs):
            layer = nn.ConvTranspose2d if stride > 1 else nn.Conv2d
            decoder.append(layer(n_in, n_out, kernel, stride, padding))
            n_in = n_out
            decoder.append(_activation(activation))
        decoder[-1] = _activation(output_activation)
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z.view(len(z), self.latent_dim, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
