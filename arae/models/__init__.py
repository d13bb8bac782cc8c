from arae.models.conv import ConvAutoencoder
from arae.models.mlp import MLPAutoencoder

__all__ = ["ConvAutoencoder", "MLPAutoencoder"]
