"""When adversarial examples are made: once per epoch for the whole training set, or per batch."""

from __future__ import annotations

import copy
import functools
import logging
from contextlib import nullcontext

import torch
from torch import nn

from arae.attacks import Randomness, copies
from arae.errors import ConfigError

AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
log = logging.getLogger(__name__)


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (AVX-512 BF16 or AMX). Without it oneDNN
    emulates them, many times slower than float32 (measured ~60x on an AVX2-only CPU)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@functools.cache
def warn_if_bf16_is_slow() -> None:
    """Once per process (a sweep's jobs share it): a bf16 attack on a CPU that emulates bf16."""
    if not cpu_has_fast_bf16():
        log.warning("crafting.autocast=bfloat16 on a CPU without native bfloat16 matmuls (AVX-512 BF16 / AMX, CPU "
                    "capability %s): the attack runs many times slower than in float32 here; drop crafting.autocast",
                    torch.backends.cpu.get_cpu_capability())


def _autocast_dtype(name: str | None) -> torch.dtype | None:
    if name is None:
        return None
    if name not in AUTOCAST_DTYPES:
        raise ConfigError(f"crafting.autocast must be null or one of {sorted(AUTOCAST_DTYPES)}, got {name!r}")
    return AUTOCAST_DTYPES[name]


class _Crafting:
    """`autocast` (null, "bfloat16", "float16") runs the attack's matmuls in that precision: about twice
    as fast where the hardware has it (bf16 on recent CPUs, both on GPUs); the gradient whose sign the
    attack follows is then rounded, so the examples differ slightly from full precision ones."""

    def __init__(self, autocast: str | None) -> None:
        self.autocast = _autocast_dtype(autocast)

    def _attack(self, attack, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        if self.autocast is None:
            context = nullcontext()
        else:
            if x.device.type == "cpu" and self.autocast == torch.bfloat16:
                warn_if_bf16_is_slow()
            context = torch.autocast(device_type=x.device.type, dtype=self.autocast)
        with context:
            return attack(model, x, rng).to(x.dtype)


class EpochCrafting(_Crafting):
    """The paper's schedule: at the start of each epoch the whole training set is attacked with the
    weights of that moment (S_adv^i), then the epoch trains on the stored (x*, x) pairs.

    `chunk_size` only sets how many images are attacked at once: each sample's attack is independent of
    the others in its chunk, so a large chunk is faster and gives the same examples. An attack that makes
    k examples per sample (union in concat mode) has all k stored, as (k, N, ...), and gets them back
    for a batch as k blocks, like a per-batch attack would return them.

    An epoch that uses only some batches (`trainer.limit_train_batches`, `overfit_batches`, the debug
    presets) does not attack the whole set: the weights of the epoch's start are frozen in a copy, and
    each batch is attacked with that copy when it comes, so the examples still come from S_adv^i.
    """

    def __init__(self, chunk_size: int, autocast: str | None) -> None:
        super().__init__(autocast)
        self.chunk_size = int(chunk_size)
        self._adversarial: torch.Tensor | None = None
        self._frozen: nn.Module | None = None

    def on_epoch_start(
        self, attack, model: nn.Module, images: torch.Tensor, rng: Randomness, partial: bool = False, progress=None
    ) -> None:
        """`progress(done, total)`, if given, is called after each chunk with the images attacked so far."""
        self._adversarial, self._frozen = None, None
        if partial:
            self._frozen = copy.deepcopy(model)
            return
        blocks, done = [], 0
        for chunk, chunk_rng in rng.split(images, self.chunk_size):
            out = self._attack(attack, model, chunk, chunk_rng)
            blocks.append(out.view(copies(chunk, out), *chunk.shape))
            done += len(chunk)
            if progress is not None:
                progress(done, len(images))
        self._adversarial = torch.cat(blocks, dim=1)

    def adversarial(
        self, attack, model: nn.Module, x: torch.Tensor, index: torch.Tensor, rng: Randomness
    ) -> torch.Tensor:
        if self._frozen is not None:
            return self._attack(attack, self._frozen, x, rng)
        return self._adversarial[:, index].flatten(0, 1)


class BatchCrafting(_Crafting):
    """Each batch is attacked with the current weights right before its training step (as in the
    authors' union script); examples are never staler than one step."""

    def on_epoch_start(
        self, attack, model: nn.Module, images: torch.Tensor, rng: Randomness, partial: bool = False, progress=None
    ) -> None:
        return None

    def adversarial(
        self, attack, model: nn.Module, x: torch.Tensor, index: torch.Tensor, rng: Randomness
    ) -> torch.Tensor:
        return self._attack(attack, model, x, rng)
