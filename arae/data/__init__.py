"""Data sets (a registry of image sources) and the protocols that split them (arae.data.protocols)."""

from arae.data import image_sources as _image_sources  # noqa: F401  (registers the image-file data sets)
from arae.data import sources as _sources  # noqa: F401  (registers the built-in data sets)
from arae.data.registry import SOURCES, build_source, register_source

__all__ = ["SOURCES", "build_source", "register_source"]
