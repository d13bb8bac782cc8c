"""The paper's names of our models, read from the one place that defines them: conf/attack/*.yaml.

Each attack file carries `paper_name` (linf: ARAE), which every run records (`attack.paper_name`, and
`settings.variant` in results.json: what reports and figures name a run by); each variant file
(conf/variant/) picks the attack that is one of the paper's methods (`override /attack: linf`), which the
paper tables' `reproduce:` lists name.
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
def attack_names() -> dict[str, str]:
    """{attack file: its paper_name} for every conf/attack/*.yaml."""
    found = {}
    for path in sorted((config_dir() / "attack").glob("*.yaml")):
        name = (yaml.safe_load(path.read_text()) or {}).get("paper_name")
        if name is None:
            raise ConfigError(f"{path} needs a `paper_name:` (its name in reports and figures); add one")
        found[path.stem] = str(name)
    return found


@cache
def variants() -> dict[str, tuple[str, str]]:
    """{variant file: (attack, paper name)} for every conf/variant/*.yaml."""
    found = {}
    for path in sorted((config_dir() / "variant").glob("*.yaml")):
        attack = _attack_of((yaml.safe_load(path.read_text()) or {}).get("defaults"))
        if attack not in attack_names():
            raise ConfigError(f"{path} needs `defaults: [override /attack: <a file of conf/attack/>]`; add it")
        found[path.stem] = (attack, attack_names()[attack])
    return found


def paper_names() -> dict[str, str]:
    """{attack: paper name}, e.g. {"linf": "ARAE", "noise": "DAE"}."""
    return {attack: name for attack, name in variants().values()}


def attack_of(paper_name: str) -> str:
    """The attack that reproduces a method of the paper: "ARAE" -> "linf"."""
    by_name = {name: attack for attack, name in variants().values()}
    if paper_name not in by_name:
        raise ConfigError(f"no conf/variant/*.yaml picks an attack named {paper_name}; choose one of {sorted(by_name)}")
    return by_name[paper_name]


def display_name(metadata: dict) -> str:
    """The paper's name of `metadata["attack"]` (conf/attack/<attack>.yaml's paper_name), else that name."""
    attack = str(metadata["attack"])
    return attack_names().get(attack, attack)
