"""ARAE: adversarially robust training of autoencoders for novelty detection.

`arae.load_detector(path)` scores images with a trained checkpoint; `arae.ARAEModule` is the LightningModule
(`ARAEModule.load_from_checkpoint(path)`). Both import torch and Lightning on first use, not with the package."""

__version__ = "0.1.0"

__all__ = ["ARAEModule", "load_detector"]


def load_detector(path, device="cpu"):
    """A trained detector from a checkpoint (or run folder): `.score(images)`, `.predict(images)`."""
    from arae.detector import load_detector as load  # torch and hydra only when a detector is asked for

    return load(path, device)


def __getattr__(name: str):
    if name == "ARAEModule":
        from arae.training import ARAEModule

        return ARAEModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
