"""Figure 6: occlusion-1 saliency. Each pixel in turn is set to black; the map holds how much the
reconstruction error changes (blue: it increases, red: it decreases; intensity: by how much). With a
patch of p > 1 pixels, the p x p square around each pixel is set to black instead (occlusion-p)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from arae.analysis.plotting import plt, to_display
from arae.errors import ConfigError
from arae.scoring import scores_of

PAPER_MODELS = ("DAE", "ARAE")  # the paper's Figure 6


def _window(size: int, patch: int) -> torch.Tensor:
    """(size, size) bool: row i marks the `patch` positions of the window around position i (clipped at
    the border; for an even patch one more before i than after)."""
    start = torch.arange(size).unsqueeze(1) - patch // 2
    return (torch.arange(size) >= start) & (torch.arange(size) < start + patch)


def occlusion_map(net: nn.Module, image: torch.Tensor, patch: int, batch_size: int = 1024) -> torch.Tensor:
    """(H, W) map: error(image with the patch x patch square around pixel (i, j) black, all channels) -
    error(image). Zero where that square is black already, since occluding it changes nothing."""
    if int(patch) < 1:
        raise ConfigError(f"the occlusion patch must be at least 1 pixel, got {patch}")
    _, h, w = image.shape
    squares = (_window(h, int(patch))[:, None, :, None] & _window(w, int(patch))[None, :, None, :]).view(h * w, 1, h, w)
    occluded = image.unsqueeze(0).expand(h * w, -1, -1, -1).masked_fill(squares, 0.0)
    errors = scores_of(net, occluded, batch_size)
    base = scores_of(net, image.unsqueeze(0), 1)[0]
    changes = (errors - base).view(h, w)
    unchanged = (occluded == image).flatten(1).all(1).view(h, w)
    return changes.masked_fill(unchanged, 0.0)


def add_noise(images: torch.Tensor, high: float, seed: int) -> torch.Tensor:
    """The paper's noisy inputs: uniform noise in [0, high] added, clipped to [0, 1]."""
    if high <= 0:
        return images
    noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed)) * high
    return (images + noise).clamp(0, 1)


def figure(nets: Sequence[nn.Module], names: Sequence[str], images: torch.Tensor, patch: int):
    """Per input (row): the input, then for each model its reconstruction beside its saliency map."""
    n_cols = 1 + 2 * len(nets)
    fig, axes = plt.subplots(len(images), n_cols, figsize=(1.3 * n_cols, 1.3 * len(images) + 0.5), squeeze=False)
    for r, image in enumerate(images):
        panels = [("input", to_display(image), dict(cmap="gray", vmin=0, vmax=1))]
        for net, name in zip(nets, names):
            device = next(net.parameters()).device
            with torch.no_grad():
                reconstruction = net(image.unsqueeze(0).to(device))[0].cpu()
            saliency = occlusion_map(net, image, patch)
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
    what = "the pixel is" if patch == 1 else f"its {patch}x{patch} square is"
    fig.suptitle(f"Occlusion-{patch} saliency (blue: error increases when {what} black, red: decreases)", fontsize=8)
    fig.tight_layout()
    return fig
