"""Rotation and translation found by exhaustive grid search (Engstrom et al., "Exploring the landscape of
spatial robustness"): the most reliable way to solve this small, non-convex perturbation set."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from arae.attacks.base import frozen
from arae.attacks.randomness import Randomness
from arae.errors import ConfigError


class GridSpatial:
    """Per sample, the rotation x translation on a fixed grid with the largest objective.

    The grid is every angle in -max_angle..max_angle in steps of `angle_step` degrees (0 included) times
    every translation in `translations` (pixels) along x and along y; conf/adversary/spatial.yaml's give 31 x 3 x 3 =
    279 transforms. All transforms of a batch are evaluated in batched tensor operations (`affine_grid` +
    `grid_sample`, zero padding); the grid is split into chunks of about `max_elements` transformed pixels,
    which bounds memory and changes nothing else.
    """

    def __init__(
        self,
        objective,
        max_angle: float,
        angle_step: float,
        translations: Sequence[float],
        max_elements: int,
    ) -> None:
        if not float(max_angle) >= 0 or not float(angle_step) > 0:
            raise ConfigError(f"spatial grid needs max_angle >= 0 and angle_step > 0, got {max_angle}, {angle_step}")
        if len(translations) == 0:
            raise ConfigError("spatial grid needs at least one translation; use [0] for rotations only")
        if int(max_elements) < 1:
            raise ConfigError(f"spatial max_elements must be >= 1, got {max_elements}")
        n = int(math.floor(float(max_angle) / float(angle_step) + 1e-9))
        self.angles = [float(angle_step) * i for i in range(-n, n + 1)]
        self.translations = [float(t) for t in translations]
        self.objective = objective
        self.max_elements = int(max_elements)

    def __len__(self) -> int:
        return len(self.angles) * len(self.translations) ** 2

    def thetas(self, height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """(T, 2, 3) sampling matrices for `affine_grid`, one per grid transform (angle-major order).

        Content is rotated about the image centre by the angle, then shifted by (tx, ty) pixels; the
        sampling matrix is the inverse map in normalised coordinates, corrected for non-square images.
        """
        angle, tx, ty = torch.meshgrid(
            torch.tensor(self.angles, dtype=torch.float64).deg2rad(),
            torch.tensor(self.translations, dtype=torch.float64),
            torch.tensor(self.translations, dtype=torch.float64),
            indexing="ij",
        )
        angle, tx, ty = angle.flatten(), tx.flatten(), ty.flatten()
        cos, sin = angle.cos(), angle.sin()
        # inverse rotation in pixel units, expressed in normalised units (x spans W, y spans H)
        a, b = cos, sin * height / width
        c, d = -sin * width / height, cos
        sx, sy = 2 * tx / width, 2 * ty / height
        theta = torch.stack(
            [torch.stack([a, b, -(a * sx + b * sy)], -1), torch.stack([c, d, -(c * sx + d * sy)], -1)], -2
        )
        return theta.to(device=device, dtype=dtype)

    @staticmethod
    def apply(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Transform each image of x (B, C, H, W) by its own sampling matrix theta (B, 2, 3)."""
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    @staticmethod
    def apply_each(x: torch.Tensor, thetas: torch.Tensor) -> torch.Tensor:
        """Every image of x (B, C, H, W) under every sampling matrix of thetas (T, 2, 3): (T, B, C, H, W).

        The batch rides in the channel dimension, so each transform's sampling grid and bilinear weights
        are computed once and shared by all images (several times faster than one grid per image).
        """
        b, c, h, w = x.shape
        t = thetas.shape[0]
        grid = F.affine_grid(thetas, [t, b * c, h, w], align_corners=False)
        stacked = x.reshape(1, b * c, h, w).expand(t, -1, -1, -1)
        out = F.grid_sample(stacked, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return out.view(t, b, c, h, w)

    def best_transform(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Index into `thetas` of each sample's highest-scoring transform."""
        thetas = self.thetas(*x.shape[-2:], device=x.device, dtype=x.dtype)
        batch = x.shape[0]
        per_chunk = max(1, self.max_elements // max(1, x.numel()))
        with frozen(model), torch.no_grad():
            reference = self.objective.reference(model, x)
            best_value = torch.full((batch,), -math.inf, device=x.device, dtype=x.dtype)
            best_index = torch.zeros(batch, dtype=torch.long, device=x.device)
            for start in range(0, len(thetas), per_chunk):
                chunk = thetas[start : start + per_chunk]
                t = len(chunk)
                images = self.apply_each(x, chunk).flatten(0, 1)  # transform-major: t blocks of B
                repeated = reference.repeat(t, *([1] * (reference.dim() - 1)))
                value, index = self.objective(model, images, repeated).view(t, batch).max(dim=0)
                better = value > best_value
                best_value = torch.where(better, value, best_value)
                best_index = torch.where(better, index + start, best_index)
        return best_index

    def __call__(self, model: nn.Module, x: torch.Tensor, rng: Randomness) -> torch.Tensor:
        """Deterministic: `rng` is not drawn from."""
        x = x.detach()
        thetas = self.thetas(*x.shape[-2:], device=x.device, dtype=x.dtype)
        return self.apply(x, thetas[self.best_transform(model, x)]).clamp(0.0, 1.0)
