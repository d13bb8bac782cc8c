"""Data sets (a registry of image sources) and the protocols that split them (LightningDataModules)."""

from arae.data import sources as _sources  # noqa: F401  (registers the built-in data sets)
from arae.data.protocol2 import ProtocolTwo
from arae.data.registry import SOURCES, build_source, register_source

__all__ = ["ProtocolTwo", "SOURCES", "build_source", "register_source"]
