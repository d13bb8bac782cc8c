"""The packages to install: arae and its subpackages, plus the top-level conf/ folder shipped as arae/conf
so that an installed `arae-train` has its configs (arae/paths.py). Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["arae", "arae.*"]), "arae.conf"], package_dir={"arae.conf": "conf"})
