from arae.models.mlp import MLPAutoencoder

__all__ = ["MLPAutoencoder"]
