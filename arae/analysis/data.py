"""The test split a detector was evaluated on, rebuilt from the config stored in its checkpoint."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf

from arae.data.protocols import Labelled
from arae.detector import Detector
from arae.errors import DataError

TestSplit = Labelled  # images in [0, 1], labels (1 = anomaly), each image's class in its data set


def source_config(config: dict, data_root: str | None) -> dict:
    """The stored data source, moved to `data_root` and with downloads off.

    Sources read from a root (MNIST, CIFAR-10) take it as `root`; file-based ones (COIL-100, the medical
    sets, image folders) have a `path`, which moves along when it lay under the training run's data root
    (a folder given by its own path stays where it is). Only torchvision sources know `download`.
    """
    source = copy.deepcopy(config["dataset"]["source"])
    if data_root:
        if source.get("root") is not None:
            source["root"] = str(data_root)
        old_root = config.get("data_root")
        if source.get("path") and old_root and Path(source["path"]).is_relative_to(old_root):
            source["path"] = str(Path(data_root) / Path(source["path"]).relative_to(old_root))
    if source.get("download") is not None:
        source["download"] = False
    return source


def protocol_config(config: dict) -> dict:
    """The stored protocol (a copy)."""
    return copy.deepcopy(config["protocol"])


def test_split(detector: Detector, data_root: str | None = None) -> TestSplit:
    """The detector's test split under its data set and protocol.

    The data root is `data_root`, else ARAE_DATA_DIR, else the one the model was trained with.
    """
    config = detector.metadata["config"]
    source = instantiate(OmegaConf.create(source_config(config, data_root or os.environ.get("ARAE_DATA_DIR"))))
    datamodule = instantiate(
        OmegaConf.create(protocol_config(config)), source=source, normal_class=config["normal_class"], seed=config["seed"]
    )
    datamodule.setup("test")
    split = datamodule.test_set()
    if len(split.labels) == 0:
        raise DataError(f"the test split of {detector.name} is empty")
    return split


def same_split(detectors: list[Detector]) -> None:
    """Figures and tables compare models on one test split: they must share data set and normal classes."""
    keys = {(d.metadata["dataset"], tuple(d.metadata["normal_classes"]), tuple(d.image_shape)) for d in detectors}
    if len(keys) > 1:
        raise DataError(f"these checkpoints were trained on different data/normal classes: {sorted(keys)}; compare like with like")
