"""The members' data as one LightningDataModule: each member keeps its own DataModule (its split, its
training order, its evaluation splits), and this one stacks what they serve (arae/ensemble/stacked.py's
interleaved rows).

Training batches are positions into one stacked training set on the module's device, so a step costs one
gather whatever the number of members: each epoch, every member's DataModule draws its order as its separate
job's would (its own DataLoader and generator), and the steps' positions are laid out at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import pytorch_lightning as pl
import torch

from arae.ensemble.checkpoint import MEMBERS
from arae.ensemble.stacked import interleave

PADDING_LABEL = -1  # the label of a padding row in a stacked evaluation batch


class StackedOrder:
    """Training batches (positions into the stacked training set, each member's real rows) for an epoch:
    step s holds batch s of every member that has one. Member i's position p is stacked row p*K + i."""

    def __init__(self, loaders: Sequence, sizes: Sequence[int], batch_size: int, limit: Callable[[], int]) -> None:
        self.loaders, self.sizes, self.batch_size = list(loaders), list(sizes), int(batch_size)
        self.batches = [math.ceil(n / self.batch_size) for n in self.sizes]
        self.limit = limit

    def __len__(self) -> int:
        return max(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, tuple[int, ...]]]:
        k, b, steps = len(self.loaders), self.batch_size, min(len(self), self.limit())
        positions = torch.zeros(steps * b, k, dtype=torch.long)  # padding: the member's first row
        for i, loader in enumerate(self.loaders):
            # Exactly the batches its separate job takes from its loader (Lightning asks for no more than
            # the epoch's batches): asking for more can make the sampler draw again, and the next epoch's
            # order would differ from the separate job's.
            batches = iter(loader)
            order = torch.cat([next(batches)[1] for _ in range(min(len(loader), steps))])
            positions[: len(order), i] = order
        stacked = (positions * k + torch.arange(k)).view(steps, b, k)
        for s in range(steps):
            rows = tuple(max(0, min(b, n - s * b)) for n in self.sizes)
            yield stacked[s, : max(rows)].flatten(), rows


class StackedEvaluation:
    """An evaluation split of every member, batch by batch as its own loader serves it, interleaved;
    padding rows are labelled PADDING_LABEL."""

    def __init__(self, loaders: Sequence) -> None:
        self.loaders = list(loaders)

    def __len__(self) -> int:
        return max(len(loader) for loader in self.loaders)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        iterators = [iter(loader) for loader in self.loaders]
        for _ in range(len(self)):
            batches = [next(it, None) for it in iterators]
            shape = next(b for b in batches if b is not None)[0].shape[1:]
            images = [b[0] if b is not None else torch.zeros(0, *shape) for b in batches]
            labels = [b[1] if b is not None else torch.zeros(0, dtype=torch.long) for b in batches]
            rows = max(len(x) for x in images)
            yield interleave(images, rows), interleave(labels, rows, fill=PADDING_LABEL)


def member_scores(scores: torch.Tensor, labels: torch.Tensor, k: int, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Member i's (scores, labels) of an interleaved evaluation batch, padding left out."""
    own_scores, own_labels = scores.view(-1, k)[:, i], labels.view(-1, k)[:, i]
    real = own_labels != PADDING_LABEL
    return own_scores[real], own_labels[real]


class EnsembleData(pl.LightningDataModule):
    def __init__(self, members: Sequence[pl.LightningDataModule]) -> None:
        super().__init__()
        self.members = list(members)
        self.batch_size = self.members[0].batch_size
        self._train: torch.Tensor | None = None

    @property
    def image_shape(self) -> tuple[int, ...]:
        return self.members[0].image_shape

    def train_sizes(self) -> list[int]:
        return [len(dm.train_set()) for dm in self.members]

    def train_set(self) -> torch.Tensor:
        """Every member's training images, interleaved (the rows its batches' positions index)."""
        if self._train is None:
            self._train = interleave([dm.train_set() for dm in self.members], max(self.train_sizes()))
        return self._train

    def train_dataloader(self) -> StackedOrder:
        return StackedOrder([dm.train_dataloader() for dm in self.members], self.train_sizes(), self.batch_size,
                            limit=lambda: self.trainer.num_training_batches)

    def test_dataloader(self) -> StackedEvaluation:
        return StackedEvaluation([dm.test_dataloader() for dm in self.members])

    def state_dict(self) -> dict:
        return {MEMBERS: [dm.state_dict() for dm in self.members]}

    def load_state_dict(self, state_dict: dict) -> None:
        for dm, state in zip(self.members, state_dict[MEMBERS]):
            dm.load_state_dict(state)
