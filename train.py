"""Train and evaluate one ARAE novelty detector (or a sweep of them with -m). See README.md."""

import warnings

import hydra
from omegaconf import DictConfig

from arae.config import register_resolvers

register_resolvers()
# conf/hydra/launcher/*.yaml spell out every field of the launcher plugin's schema of the same name; Hydra
# validates them against it (useful) and warns that such name matching is deprecated (noise).
warnings.filterwarnings("ignore", message=r"(?s).*is validated against ConfigStore schema")


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    from arae.cli import run_from_hydra  # heavy imports after Hydra has parsed the command line

    return run_from_hydra(cfg)


if __name__ == "__main__":
    main()
