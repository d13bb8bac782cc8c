"""Data sets (a registry of image sources) and the protocols that split them (LightningDataModules)."""

from arae.data import image_sources as _image_sources  # noqa: F401  (registers the image-file data sets)
from arae.data import sources as _sources  # noqa: F401  (registers the built-in data sets)
from arae.data.protocol1 import HeldOutProtocol
from arae.data.protocol2 import ProtocolTwo
from arae.data.registry import SOURCES, build_source, register_source

__all__ = ["HeldOutProtocol", "ProtocolTwo", "SOURCES", "build_source", "register_source"]
