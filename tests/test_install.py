"""A non-editable install trains from anywhere: `arae-train` with the configs shipped inside the package,
plus a config folder of the user's own through hydra.searchpath."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest
from conftest import REPO

SOURCES = ("pyproject.toml", "setup.py", "README.md", "arae", "conf")


def _venv_on_top_of_this_one(path):
    """A fresh virtualenv without pip that sees this interpreter's packages (the dependencies) through a
    .pth file, so the install below needs no network and copies nothing large."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (path / site.split(f"{path}/", 1)[1] / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.mark.slow
def test_non_editable_install_trains_with_arae_train(fake_root, tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    python = _venv_on_top_of_this_one(tmp_path / "venv")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", str(source)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]

    # A data set of the user's own, from a config folder outside the package.
    user_conf = tmp_path / "my_conf" / "dataset"
    user_conf.mkdir(parents=True)
    (user_conf / "my_mnist.yaml").write_text(textwrap.dedent("""\
        defaults:
          - mnist
          - _self_
        epsilon: 0.1
    """))
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "ARAE_DATA_DIR": str(fake_root), "WANDB_MODE": "disabled"}
    env.pop("PYTHONPATH", None)
    probe = [str(python), "-c", "import arae; print(arae.__file__)"]
    where = subprocess.run(probe, cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "venv") in where  # the installed copy, not the checkout
    proc = subprocess.run(
        [
            str(tmp_path / "venv" / "bin" / "arae-train"),
            "debug=fast",
            "num_threads=1",
            "trainer.enable_progress_bar=false",
            f"hydra.searchpath=[file://{tmp_path / 'my_conf'}]",
            "dataset=my_mnist",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = work.rglob("results.json")
    results = json.loads(path.read_text())
    assert results["status"] == "completed" and results["config"]["dataset"]["epsilon"] == 0.1


def _copy_sources(target):
    target.mkdir()
    for name in (*SOURCES, "hydra_plugins"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(REPO / name, target / name)


def test_the_build_ships_every_config_file_without_warnings(tmp_path):
    """conf/ is installed as arae/conf: each config group a package of YAML files (setup.py), so setuptools
    neither warns "Package would be ignored" for them (as `python -m build` did, 19 times) nor drops one."""
    source = tmp_path / "source"
    _copy_sources(source)
    build = subprocess.run(
        [sys.executable, "setup.py", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=source, capture_output=True, text=True, timeout=120,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert "would be ignored" not in build.stdout + build.stderr
    shipped = {p.relative_to(tmp_path / "lib" / "arae" / "conf") for p in (tmp_path / "lib" / "arae" / "conf").rglob("*.yaml")}
    assert shipped == {p.relative_to(REPO / "conf") for p in (REPO / "conf").rglob("*.yaml")}
    assert (tmp_path / "lib" / "arae" / "reporting" / "paper_tables.yaml").is_file()
    assert (tmp_path / "lib" / "hydra_plugins" / "arae_ensemble_launcher" / "ensemble_launcher.py").is_file()
