"""An ensemble's Lightning checkpoint as one file per member, each in its own job's folder.

Lightning saves and restores the ensemble as it does a separate job (`trainer.save_checkpoint`,
`fit(ckpt_path=...)`); `MemberCheckpointIO` cuts what it saves into member files and joins them again when
it loads. What belongs to one member is marked where it is made: a node `{MEMBERS: [one entry per member]}`
(the optimiser's moments, the data orders, the per-member callbacks' states), and the top-level
`checkpoint[MEMBERS]`, which holds each member's own entries (its weights under `state_dict`, its
`hyper_parameters`, the detector entry, its random stream). A member's file holds the shared entries, every
`{MEMBERS: [...]}` node cut to its own item, and its own entries at the top level: so `state_dict` and the
detector entry are where `load_detector`, `ARAEModule.load_from_checkpoint` and `resume_point` read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from arae.resume import ENSEMBLE_KEY
from arae.training.checkpointing import AtomicCheckpointIO

MEMBERS = "arae_members"


def _cut(node: Any, i: int) -> Any:
    if isinstance(node, dict):
        if set(node) == {MEMBERS}:
            return {MEMBERS: [node[MEMBERS][i]]}
        return {k: _cut(v, i) for k, v in node.items()}
    if isinstance(node, list):
        return [_cut(v, i) for v in node]
    return node


def _join(nodes: Sequence[Any]) -> Any:
    first = nodes[0]
    if isinstance(first, dict):
        if set(first) == {MEMBERS}:
            return {MEMBERS: [item for node in nodes for item in node[MEMBERS]]}
        return {k: _join([node[k] for node in nodes]) for k in first}
    if isinstance(first, list):
        return [_join(items) for items in zip(*nodes)]
    return first


def member_checkpoint(checkpoint: dict[str, Any], i: int) -> dict[str, Any]:
    own = checkpoint[MEMBERS][i]
    shared = _cut({k: v for k, v in checkpoint.items() if k != MEMBERS}, i)
    return {**shared, **own, ENSEMBLE_KEY: {**own[ENSEMBLE_KEY], "member_keys": sorted(own)}}


def ensemble_checkpoint(files: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The inverse of member_checkpoint: the shared entries are the first member's (the members of one
    ensemble saved them alike)."""
    keys = [set(f[ENSEMBLE_KEY]["member_keys"]) for f in files]
    joined = _join([{k: v for k, v in f.items() if k not in own} for f, own in zip(files, keys)])
    joined[MEMBERS] = [{k: f[k] for k in own} for f, own in zip(files, keys)]
    joined["state_dict"] = {}  # EnsembleModule.on_load_checkpoint stacks the members' weights into it
    return joined


class MemberCheckpointIO(AtomicCheckpointIO):
    """Writes member i's file to `paths[i]` (atomically), whatever path Lightning asks for; skips a member
    whose entry is None (it stopped: its last good checkpoint stays). Loads by joining `resume` files."""

    def __init__(self, paths: Sequence[Path | None], resume: Sequence[Path | None]) -> None:
        super().__init__()
        self.paths, self.resume = list(paths), list(resume)

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        for i, target in enumerate(self.paths):
            if target is not None and checkpoint[MEMBERS][i] is not None:
                super().save_checkpoint(member_checkpoint(checkpoint, i), target)

    def load_checkpoint(self, path, map_location=None, weights_only: bool | None = None) -> dict[str, Any]:
        return ensemble_checkpoint([torch.load(p, map_location="cpu", weights_only=True) for p in self.resume])
