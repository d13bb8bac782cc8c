"""The test split a detector was evaluated on, rebuilt from the config stored in its checkpoint."""

from __future__ import annotations

import copy
import os

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from arae.detector import Detector
from arae.errors import DataError


def test_split(detector: Detector, data_root: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images in [0, 1], labels with 1 = anomaly) of the detector's data set and protocol.

    The data root is `data_root`, else ARAE_DATA_DIR, else the one the model was trained with.
    """
    config = copy.deepcopy(detector.metadata["config"])
    root = data_root or os.environ.get("ARAE_DATA_DIR")
    source_cfg = config["dataset"]["source"]
    if root:
        source_cfg["root"] = str(root)
    source_cfg["download"] = False
    source = instantiate(OmegaConf.create(source_cfg))
    datamodule = instantiate(
        OmegaConf.create(config["protocol"]), source=source, normal_class=config["normal_class"], seed=config["seed"]
    )
    datamodule.setup("test")
    if datamodule.test_images is None or len(datamodule.test_labels) == 0:
        raise DataError(f"the test split of {detector.name} is empty")
    return datamodule.test_images, datamodule.test_labels


def same_split(detectors: list[Detector]) -> None:
    """Figures and tables compare models on one test split: they must share data set and normal classes."""
    keys = {(d.metadata["dataset"], tuple(d.metadata["normal_classes"]), tuple(d.image_shape)) for d in detectors}
    if len(keys) > 1:
        raise DataError(f"these checkpoints were trained on different data/normal classes: {sorted(keys)}; compare like with like")
