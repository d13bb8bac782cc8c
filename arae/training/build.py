"""The LightningModule from config: what `train.py` builds, and what `ARAEModule.load_from_checkpoint`
rebuilds from the parts of the config saved in a checkpoint's hyperparameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from arae.training.losses import ARAELoss
from arae.training.module import ARAEModule

PARTS = ("model", "attack", "crafting", "optimizer")


def module_hparams(cfg: DictConfig, image_shape: Sequence[int]) -> dict[str, Any]:
    """The resolved config groups the module is made of, plus the image shape: enough to rebuild it."""
    hparams = {part: OmegaConf.to_container(cfg[part], resolve=True) for part in PARTS}
    return {**hparams, "image_shape": [int(s) for s in image_shape]}


def module_from_hparams(hparams: dict[str, Any]) -> ARAEModule:
    cfg = OmegaConf.create({k: hparams[k] for k in PARTS})
    module = ARAEModule(
        net=instantiate(cfg.model, image_shape=tuple(hparams["image_shape"])),
        attack=instantiate(cfg.attack.adversary),
        loss=ARAELoss(gamma=cfg.attack.gamma),
        optimizer=instantiate(cfg.optimizer),
        crafting=instantiate(cfg.crafting),
    )
    module.save_hyperparameters(hparams, logger=False)
    return module


def build_module(cfg: DictConfig, image_shape: Sequence[int]) -> ARAEModule:
    return module_from_hparams(module_hparams(cfg, image_shape))
