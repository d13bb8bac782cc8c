"""The registry of image sources: a data set name -> the class that loads it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from arae.errors import ConfigError

SOURCES: dict[str, type] = {}


def register_source(name: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        SOURCES[name] = cls
        cls.name = name
        return cls

    return add


def build_source(name: str, **kwargs: Any):
    """Instantiate the source registered as `name` (the `dataset.source` node of the config).

    A key set to null that this source does not take is left out: a data set config that builds on
    another unsets the other's keys so (conf/dataset/cifar10_jpg.yaml on cifar10.yaml)."""
    if name not in SOURCES:
        raise ConfigError(f"unknown dataset {name!r}; known data sets: {', '.join(sorted(SOURCES))}")
    cls = SOURCES[name]
    accepted = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in kwargs.items() if v is not None or k in accepted})
