"""How models are labelled in tables and figures: the paper's name of their attack (conf/variant/)."""

from __future__ import annotations

PAPER_NAMES = {"none": "AE", "noise": "DAE", "linf": "ARAE", "union": "ARAE-A", "linf_rec": "ARAE-R"}


def display_name(metadata: dict) -> str:
    """The paper's name of a run (results.json or checkpoint metadata), else its attack's name."""
    attack = str(metadata.get("variant") or metadata["attack"])
    return PAPER_NAMES.get(attack, attack)
