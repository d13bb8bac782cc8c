"""Figure 6: occlusion-1 saliency. Each pixel in turn is set to black; the map holds how much the
reconstruction error changes (blue: it increases, red: it decreases; intensity: by how much)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from arae.analysis.plotting import plt, to_display
from arae.detector.calibration import scores_of

PAPER_MODELS = ("DAE", "ARAE")  # the paper's Figure 6


def occlusion_map(net: nn.Module, image: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """(H, W) map: error(image with pixel (i, j) black, all channels) - error(image). Zero where the pixel
    is black already, since occluding it changes nothing."""
    _, h, w = image.shape
    eye = torch.eye(h * w, dtype=torch.bool).view(h * w, 1, h, w)
    occluded = image.unsqueeze(0).expand(h * w, -1, -1, -1).masked_fill(eye, 0.0)
    errors = scores_of(net, occluded, batch_size)
    base = scores_of(net, image.unsqueeze(0))[0]
    changes = (errors - base).view(h, w)
    return changes.masked_fill((image == 0).all(0), 0.0)


def add_noise(images: torch.Tensor, high: float, seed: int) -> torch.Tensor:
    """The paper's noisy inputs: uniform noise in [0, high] added, clipped to [0, 1]."""
    if high <= 0:
        return images
    noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed)) * high
    return (images + noise).clamp(0, 1)


def figure(nets: Sequence[nn.Module], names: Sequence[str], images: torch.Tensor):
    """Per input (row): the input, then for each model its reconstruction beside its saliency map."""
    n_cols = 1 + 2 * len(nets)
    fig, axes = plt.subplots(len(images), n_cols, figsize=(1.3 * n_cols, 1.3 * len(images) + 0.5), squeeze=False)
    for r, image in enumerate(images):
        panels = [("input", to_display(image), dict(cmap="gray", vmin=0, vmax=1))]
        for net, name in zip(nets, names):
            device = next(net.parameters()).device
            with torch.no_grad():
                reconstruction = net(image.unsqueeze(0).to(device))[0].cpu()
            saliency = occlusion_map(net, image)
            size = float(saliency.abs().max()) or 1.0
            panels.append((f"{name}\nreconstruction", to_display(reconstruction), dict(cmap="gray", vmin=0, vmax=1)))
            # bwr_r: positive (error rises when the pixel is blacked out) blue, negative red, white = no change
            panels.append((f"{name}\nsaliency", saliency.numpy(), dict(cmap="bwr_r", vmin=-size, vmax=size)))
        for c, (title, data, style) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(data, **style)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=7)
    fig.suptitle("Occlusion-1 saliency (blue: error increases when the pixel is black, red: decreases)", fontsize=8)
    fig.tight_layout()
    return fig
