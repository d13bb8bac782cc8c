"""ARAE: adversarially robust training of autoencoders for novelty detection."""

__version__ = "0.1.0"
