"""ARAE: adversarially robust training of autoencoders for novelty detection."""

__version__ = "0.1.0"


def load_detector(path, device="cpu"):
    """A trained detector from a checkpoint (or run folder): `.score(images)`, `.predict(images)`."""
    from arae.detector import load_detector as load  # torch and hydra only when a detector is asked for

    return load(path, device)
