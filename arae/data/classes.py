"""The `normal_class` setting: read (the one parser of its forms) and checked against a data set's classes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from arae.errors import ConfigError


def class_list(value) -> list:
    """The items of a normal-class setting, unchecked: `8` -> [8], `[4, 5]` -> [4, 5], and the quoted form a
    sweep passes on the command line, `'[4,5]'` (or `'4,5'`, `'7'`), -> ["4", "5"]. Run names
    (arae.config.classes_tag) and `normal_classes` read the setting through it."""
    if isinstance(value, str):
        return [v.strip() for v in value.strip().strip("[]()").split(",") if v.strip()]
    return list(value) if isinstance(value, Iterable) else [value]  # a list (also an OmegaConf one), or one item


def normal_classes(value: int | Sequence[int], num_classes: int, dataset: str) -> tuple[int, ...]:
    """Turn `normal_class` (an int or a list of ints) into a sorted tuple, or say what is wrong with it."""
    fix = f"use class indices 0..{num_classes - 1}, e.g. normal_class=1 or normal_class='[4,5]'"
    if value is None:
        raise ConfigError(f"normal_class is not set (null) for {dataset}; {fix}")
    values = class_list(value)
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
