"""Validation of the `normal_class` setting against a data set's classes."""

from __future__ import annotations

from collections.abc import Sequence

from arae.errors import ConfigError


def normal_classes(value: int | Sequence[int], num_classes: int, dataset: str) -> tuple[int, ...]:
    """Turn `normal_class` (an int or a list of ints) into a sorted tuple, or say what is wrong with it."""
    if isinstance(value, str):  # a quoted sweep value such as normal_class='[4,5]' arrives as a string
        value = [v for v in value.strip().strip("[]()").split(",") if v.strip()]
    values = [value] if isinstance(value, int) else list(value)
    fix = f"use class indices 0..{num_classes - 1}, e.g. normal_class=1 or normal_class='[4,5]'"
    if not values:
        raise ConfigError(f"normal_class is empty for {dataset}; {fix}")
    classes = []
    for v in values:
        try:
            c = int(v)
        except (TypeError, ValueError):
            raise ConfigError(f"normal_class {v!r} is not a class index for {dataset}; {fix}") from None
        if c < 0 or c >= num_classes:
            raise ConfigError(f"normal_class {c} does not exist in {dataset}, which has {num_classes} classes; {fix}")
        classes.append(c)
    if len(set(classes)) != len(classes):
        raise ConfigError(f"normal_class lists a class twice: {values}; {fix}")
    if len(classes) == num_classes:
        raise ConfigError(f"normal_class names every class of {dataset}, which leaves no anomalies to detect; {fix}")
    return tuple(sorted(classes))
