"""Batches sliced straight from in-memory tensors: no per-sample Python work, no collate of single items."""

from __future__ import annotations

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler


class TensorBatches(Dataset):
    """Indexed by a list of positions, returns the whole batch of every tensor at once."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        if len({len(t) for t in tensors}) != 1:
            raise ValueError("all tensors must have the same length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index):
        index = torch.as_tensor(index)
        return tuple(t[index] for t in self.tensors)

    __getitems__ = __getitem__  # DataLoader hands a batch sampler's whole list of positions to this


def _as_is(batch):
    return batch


def batch_loader(
    *tensors: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0, generator: torch.Generator | None = None
) -> DataLoader:
    """A DataLoader whose sampler yields index batches; the dataset slices tensors per batch.

    Its random draws (the shuffled order, and the base seed every DataLoader iterator draws) come from
    `generator` when given, else from a new one seeded with `seed`, never from torch's global generator:
    the global stream is the attack's alone, so it does not depend on when Lightning starts an iterator
    (at a fresh start, at an epoch's start, after a resume). The sampler stays a plain
    Random/SequentialSampler, so Lightning can swap it (`overfit_batches`)."""
    dataset = TensorBatches(*tensors)
    generator = generator or torch.Generator().manual_seed(int(seed))
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size=int(batch_size), drop_last=False)
    return DataLoader(dataset, batch_sampler=batches, collate_fn=_as_is, num_workers=0, generator=generator)

