"""The packages to install: arae and its subpackages, plus the top-level conf/ folder shipped as arae/conf
(each of its config groups a package of YAML files: arae.conf.attack, arae.conf.hydra.launcher, ...) so that
an installed `arae-train` has its configs (arae/train.py), and the Hydra launcher plugin
hydra_plugins/arae_ensemble_launcher (hydra/launcher=ensemble); the YAML files they hold. Everything else is in
pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

CONF = ["arae.conf", *(f"arae.conf.{group}" for group in find_namespace_packages(where="conf"))]

setup(
    packages=[*find_packages(include=["arae", "arae.*"]), *find_namespace_packages(include=["hydra_plugins.*"]), *CONF],
    package_dir={"arae.conf": "conf"},
    package_data={"arae.reporting": ["*.yaml"], **{package: ["*.yaml"] for package in CONF}},
)
