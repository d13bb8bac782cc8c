"""The settings of `arae-analyze`: conf/analysis/<name>.yaml (found in the checkout or, installed, in the
package, as train.py finds its configs), or a YAML file of the user's own with the same keys."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from arae.errors import ConfigError

DEFAULT = "default"


def analysis_folder() -> Path:
    from arae.train import config_dir

    return config_dir() / "analysis"


def load_settings(name: str = DEFAULT) -> DictConfig:
    """conf/analysis/<name>.yaml, or the file `name` when it is a path to one."""
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = analysis_folder() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in analysis_folder().glob("*.yaml")))
        raise ConfigError(f"no analysis settings {name!r}: give a YAML file or one of {known} (conf/analysis/)")
    return OmegaConf.load(path)
