"""Data sets (a registry of image sources) and the protocols that split them (arae.data.protocols).

The sources (and torch) are imported on first use of `SOURCES`, `build_source` or `register_source`, not
with the package: the config resolvers (arae/config.py) read `arae.data.classes` on every command, and a
command such as `train.py --help` should not pay for torch."""

from __future__ import annotations

__all__ = ["SOURCES", "build_source", "register_source"]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from arae.data import image_sources as _image_sources  # noqa: F401  (registers the image-file data sets)
    from arae.data import registry
    from arae.data import sources as _sources  # noqa: F401  (registers the built-in data sets)

    return getattr(registry, name)
