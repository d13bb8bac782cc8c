"""Classes that moved: where each `_target_` that older configs (checkpoints, results.json, .hydra/) may
name lives now, so a stored config still builds."""

from __future__ import annotations

MOVED = {
    "arae.data.HeldOutProtocol": "arae.data.protocols.ProtocolOne",
    "arae.data.ProtocolTwo": "arae.data.protocols.ProtocolTwo",
    "arae.evaluation.ThresholdedF1": "arae.training.thresholded_f1.ThresholdedF1",
}


def current_target(target: str) -> str:
    """The class path `target` names today (itself unless it moved)."""
    return MOVED.get(target, target)
