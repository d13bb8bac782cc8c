"""W&B runs are tagged for filtering (the experiment configs' loggers: test_experiments.py)."""

from conftest import REPO
from hydra import compose, initialize_config_dir

from arae.config import register_resolvers


def _compose(*overrides):
    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def test_wandb_runs_are_tagged_by_dataset_variant_classes_and_budget():
    cfg = _compose("logger=wandb", "dataset=fashion_mnist", "variant=dae", "normal_class=[4,5]", "trainer.max_epochs=7")
    assert list(cfg.logger.wandb.tags) == ["fashion_mnist", "noise", "c4_5", "epochs-7"]
