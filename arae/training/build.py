"""The LightningModule from config: what `train.py` builds, and what `ARAEModule.load_from_checkpoint`
rebuilds from the module config saved in a checkpoint's hyperparameters. Both are one `instantiate` of
the `module` node (conf/module/), which gathers the model, attack, loss, optimiser and crafting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


def module_hparams(cfg: DictConfig, image_shape: Sequence[int]) -> dict[str, Any]:
    """The resolved module config plus the image shape: enough to rebuild the module."""
    return {"module": OmegaConf.to_container(cfg.module, resolve=True), "image_shape": [int(s) for s in image_shape]}


def module_from_hparams(hparams: dict[str, Any]) -> pl.LightningModule:
    """The module (an ARAEModule, as the config names it) of saved hyperparameters (`module_hparams`)."""
    module = instantiate(OmegaConf.create(hparams["module"]), net={"image_shape": list(hparams["image_shape"])})
    module.save_hyperparameters(hparams, logger=False)
    return module


def build_module(cfg: DictConfig, image_shape: Sequence[int]) -> pl.LightningModule:
    return module_from_hparams(module_hparams(cfg, image_shape))
