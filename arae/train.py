"""`arae-train` (and the checkout's train.py): train and evaluate one ARAE novelty detector, or a sweep of
them with -m. The configs are found in the checkout (conf/) or, installed, inside the package (arae/conf);
add a folder of your own with `hydra.searchpath=[file:///path/to/conf]` (docs/extending.md)."""

from __future__ import annotations

import warnings
from pathlib import Path

import hydra
from omegaconf import DictConfig

from arae.config import register_resolvers

PACKAGE = Path(__file__).resolve().parent


def config_dir() -> Path:
    """arae/conf where the package is installed, else the checkout's conf/ beside the package."""
    installed = PACKAGE / "conf"
    return installed if (installed / "train.yaml").is_file() else PACKAGE.parent / "conf"


register_resolvers()
# conf/hydra/launcher/*.yaml spell out every field of the launcher plugin's schema of the same name; Hydra
# validates them against it (useful) and warns that such name matching is deprecated (noise).
warnings.filterwarnings("ignore", message=r"(?s).*is validated against ConfigStore schema")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> float | None:
    from arae.task import run_from_hydra  # heavy imports after Hydra has parsed the command line

    return run_from_hydra(cfg)


if __name__ == "__main__":
    main()
