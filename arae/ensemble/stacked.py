"""K autoencoders of one architecture as one module, and what a stacked batch of their K runs needs: which
rows are whose (`Members`), and each member's own random numbers (`MemberStreams`).

A stacked batch interleaves the members: row j*K + i is member i's j-th row. Every layout an attack or the
loss makes from it (a chunk of whole rows, k blocks of candidates for the spatial grid or a concat union)
keeps that rule, so the nets need no other state: `StackedNets` reads member i's rows as every K-th row and
runs all members at once with `torch.func.vmap` + `functional_call`. Each member has `rows[i]` real rows
at the start of its share of a batch; a member with fewer (a smaller normal class, its last batch) has
padding rows after them, which its loss, its random numbers and its metrics leave out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from arae.attacks.randomness import Draw


def interleave(parts: Sequence[torch.Tensor], rows: int, fill: float = 0) -> torch.Tensor:
    """Member i's `parts[i]` (at most `rows` rows) as the rows j*K + i of one tensor; missing rows `fill`."""
    out = parts[0].new_full((rows, len(parts), *parts[0].shape[1:]), fill)
    for i, part in enumerate(parts):
        out[: len(part), i] = part
    return out.flatten(0, 1)


def member_rows(t: torch.Tensor, k: int, i: int) -> torch.Tensor:
    """Member i's rows of an interleaved tensor (padding included)."""
    return t.view(-1, k, *t.shape[1:])[:, i]


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
        template = copy.deepcopy(nets[0]).to("meta")  # held in a plain dict: its (meta) parameters are not ours
        self._calls = {m: _Method(template, m) for m in ("encode", "decode", "forward")}
        self.image_shape = getattr(nets[0], "image_shape", None)
        self._lay_out_as_gradients()

    def _lay_out_as_gradients(self) -> None:
        """Store each stacked parameter in the memory layout its gradient comes in (vmap's backward gives a
        linear layer's weight gradient transposed per member). Otherwise autograd copies every gradient
        into the parameter's layout, a pass over all members' weights each step that a separate job never
        makes. The values are unchanged; the layout is found by one backward on a small zero batch."""
        if self.image_shape is None:
            return
        x = torch.zeros(2 * self.members, *self.image_shape, device=self.stacked[0].device)
        with torch.enable_grad():
            grads = torch.autograd.grad(self(x).sum(), list(self.stacked), allow_unused=True)
        with torch.no_grad():
            for p, g in zip(self.stacked, grads):
                if g is not None and g.stride() != p.stride():
                    p.data = torch.empty_like(g).copy_(p)  # empty_like keeps g's strides (dense tensors)

    def params(self) -> dict[str, torch.Tensor]:
        return {f"net.{n}": p for n, p in zip(self.names, self.stacked)}

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's parameters as an ordinary net's state dict (detached copies)."""
        return {n: p[i].detach().clone(memory_format=torch.contiguous_format) for n, p in zip(self.names, self.stacked)}

    def member_net(self, i: int) -> nn.Module:
        """A plain net of the members' architecture holding member i's weights, on their device."""
        net = copy.deepcopy(self._calls["forward"].net).to_empty(device=self.stacked[0].device)
        net.load_state_dict(self.member_state(i))
        return net

    def stacked_state(self, states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """The members' ordinary state dicts as this module's (the inverse of member_state)."""
        return {f"stacked.{j}": torch.stack([s[n] for s in states]) for j, n in enumerate(self.names)}

    def _call(self, method: str, x: torch.Tensor) -> torch.Tensor:
        k = self.members
        if x.shape[0] % k:
            raise ValueError(f"a stacked batch of {x.shape[0]} rows does not interleave {k} members")
        module = self._calls[method]

        def one(params, xs):
            return functional_call(module, params, (xs,))

        out = vmap(one, in_dims=(0, 1), out_dims=1)(self.params(), x.view(-1, k, *x.shape[1:]))
        return out.reshape(-1, *out.shape[2:])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._call("encode", x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._call("decode", z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._call("forward", x)


class Members:
    """The runs of one stacked training batch (arae.training.step.optimisation_step's `runs`): member i has
    rows[i] real rows; a member in `stopped` (its loss diverged) trains no more."""

    def __init__(self, rows: Sequence[int], device: torch.device, stopped=frozenset()) -> None:
        self.rows, self.k, self.n = tuple(rows), len(rows), max(rows)
        self.active = [r > 0 and i not in stopped for i, r in enumerate(self.rows)]
        real = torch.tensor(self.rows, device=device)
        self.mask = torch.arange(self.n, device=device).unsqueeze(1) < real  # (n, K): real rows
        self.weights = real.float()  # each member's batch size, 0 where it sits this step out

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """Each member's mean over its real rows of per-example values (any number of copies): (K,)."""
        values = t.view(-1, self.n, self.k)
        total = torch.where(self.mask, values, 0).sum(dim=(0, 1))
        return total / (self.weights.clamp(min=1) * values.shape[0])

    def step(self, optimizer) -> None:
        optimizer.step(active=self.active)


class MemberStreams:
    """The members' random numbers (the `rng` of arae/attacks/randomness.py) for a stacked tensor of `block`
    rows per member, of which member i's first rows[i] are real: `draw` is called once per member, on its
    real rows (in the order its separate run has them) with its own generator; padding gets zeros."""

    def __init__(self, generators: Sequence[torch.Generator], rows: Sequence[int], block: int) -> None:
        self.generators = list(generators)
        self.rows, self.block = tuple(int(r) for r in rows), int(block)

    def bind(self, rows: Sequence[int], block: int) -> MemberStreams:
        return MemberStreams(self.generators, rows, block)

    def draw(self, x: torch.Tensor, draw: Draw) -> torch.Tensor:
        k, shape = len(self.generators), x.shape[1:]
        blocks = x.view(-1, self.block, k, *shape)  # (copies, block, K, ...)
        copies, out = blocks.shape[0], None
        for i, (generator, n) in enumerate(zip(self.generators, self.rows)):
            if n:
                got = draw(blocks[:, :n, i].reshape(copies * n, *shape), generator)
                if out is None:
                    out = got.new_zeros(copies, self.block, k, *got.shape[1:])
                out[:, :n, i] = got.view(copies, n, *got.shape[1:])
        return torch.zeros_like(x) if out is None else out.flatten(0, 2)

    def split(self, x: torch.Tensor, size: int) -> Iterator[tuple[torch.Tensor, MemberStreams]]:
        """x in chunks of `size` rows per member (the chunks each member's separate run makes)."""
        k = len(self.generators)
        for start in range(0, self.block, size):
            n = min(size, self.block - start)
            rows = [max(0, min(n, r - start)) for r in self.rows]
            yield x[start * k:(start + n) * k], self.bind(rows, n)
