"""Shared pieces of every attack: the interface and the guard that keeps the model untouched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import torch
from torch import nn

from arae.attacks.randomness import Randomness


class Attack(Protocol):
    """Maps a clean batch in [0, 1] to a perturbed batch of the same shape, without touching the model.
    Every random number it needs comes from `rng` (arae/attacks/randomness.py), never from torch's global
    generator."""

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor: ...


@contextmanager
def frozen(model: nn.Module) -> Iterator[None]:
    """Switch off parameter gradients while an attack runs, so only the input is differentiated.

    The train/eval mode is left as it is; `requires_grad` is restored on exit, also after an error.
    """
    saved = [(p, p.requires_grad) for p in model.parameters()]
    try:
        for p, _ in saved:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


class NoAttack:
    """The plain autoencoder: the input is returned unchanged."""

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        return x


def copies(x: torch.Tensor, x_adv: torch.Tensor) -> int:
    """How many examples an attack made per clean sample: x_adv holds k blocks of len(x) samples."""
    k, rest = divmod(x_adv.shape[0], x.shape[0])
    if k < 1 or rest:
        raise ValueError(f"an attack returned {x_adv.shape[0]} samples for a batch of {x.shape[0]}; expected a multiple")
    return k
