"""The registry of image sources: a data set name -> the class that loads it."""

from __future__ import annotations

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
    """Instantiate the source registered as `name` (the `dataset.source` node of the config)."""
    if name not in SOURCES:
        raise ConfigError(f"unknown dataset {name!r}; known data sets: {', '.join(sorted(SOURCES))}")
    return SOURCES[name](**kwargs)
