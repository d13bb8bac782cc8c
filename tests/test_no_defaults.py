"""Every hyperparameter lives in conf/: what a config builds (every `_target_` of conf/ that is ours) takes no
default for a key that a config sets, so that a key missing in a config fails at once instead of silently
taking a value written twice."""

from __future__ import annotations

import inspect
from collections import defaultdict

import pytest
import yaml
from conftest import REPO
from hydra.utils import get_object

CONF = REPO / "conf"
OURS = ("arae.", "hydra_plugins.arae_")  # other packages' classes (torch, Lightning, Hydra plugins) are theirs
BUILD_SOURCE = "arae.data.build_source"  # builds the data source registered under its `name` key


def _nodes(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _merged(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        merged[key] = _merged(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def document(path) -> dict:
    """A config file with the files its defaults list merges into it (`- other_option`, `- /group/x@_here_`),
    so that a node holds every key it gets; `defaults` itself left out."""
    text = yaml.safe_load(path.read_text()) or {}
    merged: dict = {}
    for entry in text.pop("defaults", None) or []:
        if not isinstance(entry, str) or entry == "_self_" or ("@" in entry and not entry.endswith("@_here_")):
            continue  # `override` entries, and files placed under a key of their own (walked on their own)
        name = entry.removesuffix("@_here_")
        merged = _merged(merged, document(CONF / f"{name.lstrip('/')}.yaml" if name.startswith("/") else path.parent / f"{name}.yaml"))
    return _merged(merged, text)


def _source_name(node: dict, config: dict) -> str:
    """`name` of a build_source node; `${..name}` is the data set's own name."""
    name = str(node["name"])
    return str(config["name"]) if name == "${..name}" else name


def built_from_conf() -> dict[str, set[str]]:
    """{target: the keys that some config of conf/ sets for it}; a data source is named by its registry name."""
    keys: dict[str, set[str]] = defaultdict(set)
    for path in sorted(CONF.rglob("*.yaml")):
        config = document(path)
        for node in _nodes(config):
            target = node.get("_target_")
            if not isinstance(target, str) or not target.startswith(OURS):
                continue
            if target == BUILD_SOURCE:
                target = f"{BUILD_SOURCE}:{_source_name(node, config)}"
            keys[target] |= {k for k in node if not k.startswith("_")}
    return dict(keys)


TARGETS = built_from_conf()


def constructor(target: str):
    if target.startswith(f"{BUILD_SOURCE}:"):
        from arae.data.registry import SOURCES

        return SOURCES[target.split(":", 1)[1]]
    return get_object(target)


def test_the_walk_finds_the_targets_of_every_group():
    found = {t.split(":")[0].rsplit(".", 1)[-1] for t in TARGETS}
    assert {"PGD", "UniformNoise", "MLPAutoencoder", "ConvAutoencoder", "ProtocolTwo", "HoldOut", "EpochCrafting",
            "ARAEModule", "EpochCheckpoint", "ThresholdCalibration", "EnsembleLauncher", "build_source"} <= found
    assert {f"{BUILD_SOURCE}:{name}" for name in ("mnist", "fashion_mnist", "cifar10", "coil100", "folder")} <= set(TARGETS)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_constructor_takes_every_setting_from_the_config(target):
    parameters = inspect.signature(constructor(target)).parameters.values()
    defaulted = sorted(p.name for p in parameters if p.default is not inspect.Parameter.empty and p.name in TARGETS[target])
    assert defaulted == [], f"{target} repeats defaults of conf/ for {defaulted}"
