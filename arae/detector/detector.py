"""A trained novelty detector as a plain object: `score` (reconstruction error) and `predict` (verdict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from arae.detector.checkpoint import read_checkpoint
from arae.detector.images import as_batch, load_images
from arae.scoring import scores_of


class Detector:
    """An autoencoder with its decision threshold: score > threshold means anomaly (1)."""

    def __init__(self, net: nn.Module, threshold: float, metadata: dict[str, Any]) -> None:
        self.net = net.eval()
        self.threshold = float(threshold)
        self.metadata = metadata

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.metadata["image_shape"])

    @property
    def name(self) -> str:
        return self.metadata.get("run_name") or self.metadata.get("attack", "detector")

    @property
    def interpolation(self) -> str:
        """How training resized image files (dataset.source.interpolation); 'area' for sources without one."""
        source = self.metadata.get("config", {}).get("dataset", {}).get("source", {})
        return source.get("interpolation") or "area"

    @property
    def eval_batch_size(self) -> int:
        """Images scored at once: the training run's protocol.eval_batch_size."""
        return int(self.metadata["config"]["protocol"]["eval_batch_size"])

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device: str | torch.device) -> Detector:
        self.net.to(device)
        return self

    def prepare(self, images) -> torch.Tensor:
        """Tensors/arrays (uint8 or floats in [0, 1]) or PIL images -> float (N, C, H, W) on the CPU."""
        return as_batch(images, self.image_shape, self.interpolation)

    def load(self, paths, strict: bool = False) -> tuple[torch.Tensor, list[str]]:
        """Image files, read as the model's training files were (arae.data.images); see arae.detector.images."""
        return load_images(paths, self.image_shape, strict, self.interpolation)

    def score(self, images) -> torch.Tensor:
        """Anomaly score per image: the sum over pixels of the squared reconstruction error."""
        return scores_of(self.net, self.prepare(images), self.eval_batch_size)

    def predict(self, images) -> torch.Tensor:
        """1 = anomaly (score above the stored threshold), 0 = normal."""
        return (self.score(images) > self.threshold).long()


def build_net(metadata: dict[str, Any], state: dict[str, torch.Tensor]) -> nn.Module:
    net = instantiate(OmegaConf.create(metadata["model"]), image_shape=metadata["image_shape"])
    net.load_state_dict(state)
    return net.eval()


def load_detector(path: str | Path, device: str | torch.device = "cpu") -> Detector:
    """The detector saved in a training checkpoint (a .ckpt file or a run folder)."""
    metadata, state, file = read_checkpoint(path)
    detector = Detector(build_net(metadata, state), metadata["threshold"], {**metadata, "checkpoint": str(file)})
    return detector.to(device)
