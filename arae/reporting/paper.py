"""The paper's published tables (paper_tables.yaml) as plain objects."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from arae.errors import ConfigError
from arae.variants import attack_of

Classes = tuple[int, ...]


def as_classes(value) -> Classes:
    """8 -> (8,); [4, 5] -> (4, 5): normal classes as a sorted tuple, the key every table uses."""
    if isinstance(value, int):
        return (value,)
    return tuple(sorted(int(v) for v in value))


@dataclass(frozen=True)
class PaperRow:
    values: tuple[float, ...]
    mean: float
    std: tuple[float, ...] | None = None


@dataclass(frozen=True)
class PaperPart:
    name: str
    dataset: str
    columns: tuple[Classes, ...]
    rows: dict[str, PaperRow]

    def value(self, method: str, classes: Classes) -> float | None:
        row = self.rows.get(method)
        if row is None or classes not in self.columns:
            return None
        return row.values[self.columns.index(classes)]


@dataclass(frozen=True)
class PaperTable:
    key: str
    title: str
    reproduce: dict[str, str]  # paper method -> our attack name (conf/variant/*.yaml)
    parts: tuple[PaperPart, ...]


def _part(raw: dict) -> PaperPart:
    columns = tuple(as_classes(c) for c in raw["columns"])
    rows = {}
    for method, row in raw["rows"].items():
        if len(row["values"]) != len(columns):
            raise ValueError(f"paper_tables.yaml: {raw['name']}/{method} has {len(row['values'])} values")
        std = tuple(row["std"]) if "std" in row else None
        rows[method] = PaperRow(values=tuple(row["values"]), mean=row["mean"], std=std)
    return PaperPart(name=raw["name"], dataset=raw["dataset"], columns=columns, rows=rows)


@cache
def _raw() -> dict:
    text = resources.files("arae.reporting").joinpath("paper_tables.yaml").read_text()
    return yaml.safe_load(text)


def table_names() -> list[str]:
    """Every table (and figure) of the paper that `arae-report --paper` sets our results beside."""
    return sorted(_raw())


def comparison_names() -> list[str]:
    """The per-class tables (2, 6): rows of methods, columns of normal classes (`paper_table`)."""
    return sorted(k for k, v in _raw().items() if "parts" in v)


def paper_values(key: str) -> dict:
    """A table's entry in paper_tables.yaml as it stands (Tables 1, 3, 4, 5, Figure 4); values in %."""
    if key not in _raw():
        raise ConfigError(f"the paper has no table '{key}' in arae/reporting/paper_tables.yaml; choose one of {table_names()}")
    return _raw()[key]


def paper_table(key: str) -> PaperTable:
    entry = paper_values(key)
    if "parts" not in entry:
        raise ConfigError(f"paper table '{key}' has no per-class parts; the per-class tables are {comparison_names()}")
    parts = tuple(_part(p) for p in entry["parts"])
    reproduce = {method: attack_of(method) for method in entry["reproduce"]}
    return PaperTable(key=key, title=entry["title"], reproduce=reproduce, parts=parts)
