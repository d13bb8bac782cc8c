"""Where an attack's random numbers come from: always from the `rng` it is called with, never from torch's
global generator.

The rule for attack authors: draw every random number as `rng.draw(x, draw)`, where `draw(rows, generator)`
returns numbers for `rows` (a batch shaped like x, or some of its rows) made with `generator`, e.g.
`torch.rand(rows.shape, generator=generator, device=rows.device)`; hand `rng` on to any attack you call.

`rng` is a `Stream` for one model: one generator (a training run's is torch's default generator of its
device, `default_stream`, so its draws are the ones any PyTorch code would make there). For the stacked
members of an ensemble it is arae.ensemble.stacked.MemberStreams, which calls `draw` once per member, on that
member's real rows with that member's generator: each member gets the very numbers its separate run draws.
An attack that draws from torch directly would silently break that equality.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import torch

Draw = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class Randomness(Protocol):
    def draw(self, x: torch.Tensor, draw: Draw) -> torch.Tensor: ...

    def split(self, x: torch.Tensor, size: int) -> Iterator[tuple[torch.Tensor, Randomness]]: ...


class Stream:
    """One model's random numbers: `draw(x, generator)`."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def draw(self, x: torch.Tensor, draw: Draw) -> torch.Tensor:
        return draw(x, self.generator)

    def split(self, x: torch.Tensor, size: int) -> Iterator[tuple[torch.Tensor, Stream]]:
        """x in chunks of `size` rows, each with the randomness to attack it with (this same stream)."""
        for chunk in x.split(size):
            yield chunk, self


def default_stream(device: torch.device | str) -> Stream:
    """torch's default generator of `device` (seeded by `seed_everything`, saved in checkpoints)."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return Stream(torch.cuda.default_generators[index])
    if device.type != "cpu":
        raise ValueError(f"no default generator known for device {device}; pass a Stream of a torch.Generator on it")
    return Stream(torch.default_generator)
