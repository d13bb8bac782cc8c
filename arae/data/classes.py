"""Validation of the `normal_class` setting against a data set's classes."""

from __future__ import annotations

from collections.abc import Sequence

from arae.errors import ConfigError


def normal_classes(value: int | Sequence[int], num_classes: int, dataset: str) -> tuple[int, ...]:
    """Turn `normal_class` (an int or a list of ints) into a sorted tuple, or say what is wrong with it."""
    fix = f"use class indices 0..{num_classes - 1}, e.g. normal_class=1 or normal_class='[4,5]'"
    if value is None:
        raise ConfigError(f"normal_class is not set (null) for {dataset}; {fix}")
    if isinstance(value, str):  # a quoted sweep value such as normal_class='[4,5]' arrives as a string
        value = [v for v in value.strip().strip("[]()").split(",") if v.strip()]
    values = list(value) if hasattr(value, "__iter__") else [value]  # an int, or a list of them
    if not values:
        raise ConfigError(f"normal_class is empty for {dataset}; {fix}")
    classes = []
    for v in values:
        c = _index(v)
        if c is None:
            raise ConfigError(f"normal_class {v!r} is not a class index for {dataset}; {fix}")
        if c < 0 or c >= num_classes:
            raise ConfigError(f"normal_class {c} does not exist in {dataset}, which has {num_classes} classes; {fix}")
        classes.append(c)
    if len(set(classes)) != len(classes):
        raise ConfigError(f"normal_class lists a class twice: {values}; {fix}")
    if len(classes) == num_classes:
        raise ConfigError(f"normal_class names every class of {dataset}, which leaves no anomalies to detect; {fix}")
    return tuple(sorted(classes))


def _index(value) -> int | None:
    """A whole number, also one written as text ("4"); booleans and fractions (8.5) are not indices."""
    if isinstance(value, bool) or isinstance(value, float):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
