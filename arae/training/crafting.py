"""When adversarial examples are made: once per epoch for the whole training set, or per batch."""

from __future__ import annotations

import torch
from torch import nn

from arae.attacks import copies


class EpochCrafting:
    """The paper's schedule: at the start of each epoch the whole training set is attacked with the
    weights of that moment (S_adv^i), then the epoch trains on the stored (x*, x) pairs.

    `chunk_size` only sets how many images are attacked at once: each sample's attack is independent of
    the others in its chunk, so a large chunk is faster and gives the same examples. An attack that makes
    k examples per sample (union in concat mode) has all k stored, as (k, N, ...), and gets them back
    for a batch as k blocks, like a per-batch attack would return them.
    """

    def __init__(self, chunk_size: int = 2048) -> None:
        self.chunk_size = int(chunk_size)
        self._adversarial: torch.Tensor | None = None

    def on_epoch_start(self, attack, model: nn.Module, images: torch.Tensor) -> None:
        blocks = []
        for chunk in images.split(self.chunk_size):
            out = attack(model, chunk)
            blocks.append(out.view(copies(chunk, out), *chunk.shape))
        self._adversarial = torch.cat(blocks, dim=1)

    def adversarial(self, attack, model: nn.Module, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self._adversarial[:, index].flatten(0, 1)


class BatchCrafting:
    """Each batch is attacked with the current weights right before its training step (as in the
    authors' union script); examples are never staler than one step."""

    def on_epoch_start(self, attack, model: nn.Module, images: torch.Tensor) -> None:
        return None

    def adversarial(self, attack, model: nn.Module, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return attack(model, x)
