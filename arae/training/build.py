"""The LightningModule from config: what `train.py` builds, and what `ARAEModule.load_from_checkpoint`
rebuilds from the module config saved in a checkpoint's hyperparameters. Both are one `instantiate` of
the `module` node (conf/module/), which gathers the model, attack, loss, optimiser and crafting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from arae.training.module import ARAEModule

# The config groups that checkpoints written before conf/module/ existed saved instead of the module node.
OLD_PARTS = ("model", "attack", "crafting", "optimizer")


def module_hparams(cfg: DictConfig, image_shape: Sequence[int]) -> dict[str, Any]:
    """The resolved module config plus the image shape: enough to rebuild the module."""
    return {"module": OmegaConf.to_container(cfg.module, resolve=True), "image_shape": [int(s) for s in image_shape]}


def module_config(hparams: dict[str, Any]) -> dict[str, Any]:
    """The module config of saved hyperparameters, also of a checkpoint that saved its parts (OLD_PARTS)."""
    if "module" in hparams:
        return hparams["module"]
    attack = hparams["attack"]
    return {
        "_target_": "arae.training.ARAEModule",
        "net": hparams["model"],
        "attack": attack["adversary"],
        "loss": {"_target_": "arae.training.ARAELoss", "gamma": attack["gamma"], "block_gamma": None},
        "optimizer": hparams["optimizer"],
        "crafting": hparams["crafting"],
    }


def module_from_hparams(hparams: dict[str, Any]) -> ARAEModule:
    config = OmegaConf.create(module_config(hparams))
    module = instantiate(config, net={"image_shape": list(hparams["image_shape"])})
    module.save_hyperparameters(hparams, logger=False)
    return module


def build_module(cfg: DictConfig, image_shape: Sequence[int]) -> ARAEModule:
    return module_from_hparams(module_hparams(cfg, image_shape))
