"""K autoencoders of one architecture as one module: their parameters stacked along a leading member
axis, every call vectorised over the members with `torch.func.vmap` + `functional_call`.

Inputs are flat batches laid out as whole blocks: `copies` blocks (an attack may stack several candidate
batches, e.g. the spatial grid or the union in `concat` mode), each holding the K members' batches of
`block` rows one after another. So the attacks, the objectives and the loss, which see one batch of
samples, run unchanged on the stack; per-sample results keep the same layout.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class _Method(nn.Module):
    """`forward` calls one method of the wrapped net: functional_call only calls `forward`."""

    def __init__(self, net: nn.Module, method: str) -> None:
        super().__init__()
        self.net = net
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.net, self.method)(x)


class StackedNets(nn.Module):
    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        if not nets:
            raise ValueError("an ensemble needs at least one member")
        shapes = {tuple((n, tuple(p.shape)) for n, p in net.named_parameters()) for net in nets}
        if len(shapes) != 1:
            raise ValueError("ensemble members must share one architecture (same model config and image shape)")
        params, buffers = stack_module_state(list(nets))
        if buffers:
            raise ValueError("ensemble members with buffers (e.g. batch norm statistics) are not supported")
        self.members = len(nets)
        self.names = list(params)
        self.stacked = nn.ParameterList(nn.Parameter(p.detach().clone()) for p in params.values())
        template = copy.deepcopy(nets[0]).to("meta")
        self._calls = {m: _Method(template, m) for m in ("encode", "decode", "forward")}
        self.block = 0  # rows per member in the current calls' blocks (set by the trainer)
        self.image_shape = getattr(nets[0], "image_shape", None)

    def params(self) -> dict[str, torch.Tensor]:
        return {f"net.{n}": p for n, p in zip(self.names, self.stacked)}

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's parameters as an ordinary net's state dict (detached copies)."""
        return {n: p[i].detach().clone() for n, p in zip(self.names, self.stacked)}

    def load_member_state(self, i: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for n, p in zip(self.names, self.stacked):
                p[i].copy_(state[n])

    def _call(self, method: str, x: torch.Tensor) -> torch.Tensor:
        k, block = self.members, self.block
        copies, rest = divmod(x.shape[0], k * block) if block else (0, 1)
        if rest or copies < 1:
            raise ValueError(f"a batch of {x.shape[0]} rows is not whole blocks of {k} members x {block} rows")
        rows = x.view(copies, k, block, *x.shape[1:]).transpose(0, 1).reshape(k, copies * block, *x.shape[1:])
        module = self._calls[method]

        def one(params, xs):
            return functional_call(module, params, (xs,))

        out = vmap(one)(self.params(), rows)  # (k, copies * block, ...)
        out = out.view(k, copies, block, *out.shape[2:]).transpose(0, 1)
        return out.reshape(copies * k * block, *out.shape[3:])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._call("encode", x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._call("decode", z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._call("forward", x)
