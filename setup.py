"""The packages to install: arae and its subpackages, plus the top-level conf/ folder shipped as arae/conf
so that an installed `arae-train` has its configs (arae/paths.py), and the Hydra launcher plugin
hydra_plugins/arae_ensemble_launcher (hydra/launcher=ensemble). Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

setup(packages=[*find_packages(include=["arae", "arae.*"]), *find_namespace_packages(include=["hydra_plugins.*"]), "arae.conf"], package_dir={"arae.conf": "conf"})
