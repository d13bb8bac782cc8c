"""The FLOP counter: matmul-class FLOPs of one training epoch (the hand loop's, which does the framework's
arithmetic), counted on a sample of the images."""

from __future__ import annotations

import copy

import torch
from hand_loop import hand_epoch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry


class MatmulFlops(TorchDispatchMode):
    """Counts the FLOPs of matmul-class ops (PyTorch's flop formulas, forward and backward). Unlike
    FlopCounterMode it installs no module hooks, which autograd.grad on a leaf input does not support."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def epoch_flops(net, optimizer_factory, images, attack, gamma, batch_size, chunk, sample: int = 64,
                train_dtype: torch.dtype | None = None) -> float:
    """Counted FLOPs (matmul-class ops, forward and backward) of one epoch over `images`, scaled up
    from an epoch over `sample` of them (the cost is linear in the number of images)."""
    net = copy.deepcopy(net)
    sub = images[:sample]
    with MatmulFlops() as counter:
        hand_epoch(net, optimizer_factory(net.parameters()), sub, attack, gamma, min(batch_size, sample),
                   min(chunk, sample), train_dtype)
    return counter.total * len(images) / len(sub)
