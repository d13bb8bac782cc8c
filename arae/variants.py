"""The paper's names of our models, read from the one place that defines them: conf/variant/*.yaml.

Each variant file picks an attack (`override /attack: linf`) and carries `paper_name` (ARAE). Reports,
figures, the dashboard and the paper tables' `reproduce:` lists all name models through this module.
"""

from __future__ import annotations

from functools import cache

import yaml

from arae.errors import ConfigError
from arae.train import config_dir


def _attack_of(defaults: list) -> str | None:
    for entry in defaults or []:
        if isinstance(entry, dict) and "override /attack" in entry:
            return str(entry["override /attack"])
    return None


@cache
def variants() -> dict[str, tuple[str, str]]:
    """{variant file: (attack, paper name)} for every conf/variant/*.yaml."""
    found = {}
    for path in sorted((config_dir() / "variant").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text()) or {}
        attack, name = _attack_of(raw.get("defaults")), raw.get("paper_name")
        if attack is None or name is None:
            raise ConfigError(f"{path} needs `defaults: [override /attack: ...]` and `paper_name:`; add the missing one")
        found[path.stem] = (attack, str(name))
    return found


def paper_names() -> dict[str, str]:
    """{attack: paper name}, e.g. {"linf": "ARAE", "noise": "DAE"}."""
    return {attack: name for attack, name in variants().values()}


def attack_of(paper_name: str) -> str:
    """The attack that reproduces a method of the paper: "ARAE" -> "linf"."""
    by_name = {name: attack for attack, name in variants().values()}
    if paper_name not in by_name:
        raise ConfigError(f"no conf/variant/*.yaml has paper_name: {paper_name}; choose one of {sorted(by_name)}")
    return by_name[paper_name]


def display_name(metadata: dict) -> str:
    """The paper's name of a run (results.json or checkpoint metadata), else its attack's name."""
    attack = str(metadata["attack"])
    return paper_names().get(attack, attack)
