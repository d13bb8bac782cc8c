"""Where the attacks' random numbers come from.

An attack draws its random start (or noise) through `sample(x, draw)`: normally `draw(x)` on torch's
global generator, as any PyTorch code would. While an ensemble trains K members in one process
(arae/ensemble/), a batch holds the K members' batches one after another and each member has its own
random stream: `sample` then calls `draw` once per member, on that member's real rows only and under its
stream, so each member gets the very numbers its separate run would have drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import torch

Draw = Callable[[torch.Tensor], torch.Tensor]


class MemberStreams:
    """K random streams (torch generator states, CPU and the current CUDA device) and, for the call under
    way, how many real rows each member has in its block of `block` rows (the rest is padding)."""

    def __init__(self, states: list[dict[str, torch.Tensor]]) -> None:
        self.states = states
        self.block = 0
        self.rows: Sequence[int] = ()

    @staticmethod
    def capture() -> dict[str, torch.Tensor]:
        state = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state()
        return state

    @staticmethod
    def restore(state: dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(state["cpu"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["cuda"])

    @contextmanager
    def member(self, i: int) -> Iterator[None]:
        """Member i's stream as torch's global one, for the duration of the block."""
        saved = self.capture()
        self.restore(self.states[i])
        try:
            yield
        finally:
            self.states[i] = self.capture()
            self.restore(saved)

    def sample(self, x: torch.Tensor, draw: Draw) -> torch.Tensor:
        k, block = len(self.states), self.block
        copies, rest = divmod(x.shape[0], k * block) if block else (0, 1)
        if rest or copies < 1:
            raise ValueError(f"an ensemble batch of {x.shape[0]} rows is not whole blocks of {k} x {block}")
        blocks = x.view(copies, k, block, *x.shape[1:])
        out = torch.zeros_like(blocks)
        for i, n in enumerate(self.rows):
            if n:
                with self.member(i):
                    out[:, i, :n] = draw(blocks[:, i, :n].reshape(copies * n, *x.shape[1:])).view(copies, n, *x.shape[1:])
        return out.view_as(x)


_ACTIVE: ContextVar[MemberStreams | None] = ContextVar("arae_member_streams", default=None)


def sample(x: torch.Tensor, draw: Draw) -> torch.Tensor:
    """`draw(x)`: random numbers shaped like x (or like its rows), from the right stream (module doc)."""
    streams = _ACTIVE.get()
    return draw(x) if streams is None else streams.sample(x, draw)


@contextmanager
def member_streams(streams: MemberStreams, block: int, rows: Sequence[int]) -> Iterator[None]:
    """While active, `sample` splits each batch into blocks of `block` rows per member, of which the
    first rows[i] of member i are real."""
    streams.block, streams.rows = int(block), tuple(int(r) for r in rows)
    token = _ACTIVE.set(streams)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
