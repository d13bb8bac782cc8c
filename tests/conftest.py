from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fakedata import write_faint_idx_dataset, write_idx_dataset
from fakeimages import write_image_datasets

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("ARAE_DATA_DIR", REPO / "data")).resolve()

# Overrides that make any train.py run finish in seconds on fake data.
TINY = [
    "trainer.max_epochs=2",
    "attack.adversary.steps=3",
    "dataset.batch_size=64",
    "logger=none",
    "callbacks.checkpoint=null",
    "trainer.enable_progress_bar=false",
]


# Overrides that make each attack config cheap: few PGD steps, a coarse spatial grid (union members too).
_UNION = ["attack.adversary.members.linf.steps=2", "attack.adversary.members.l2.steps=2",
          "attack.adversary.members.spatial.angle_step=15"]
CHEAP_ATTACK = {
    "none": [], "noise": [], "linf_fast": [],
    "linf": ["attack.adversary.steps=3"], "linf_rec": ["attack.adversary.steps=3"], "l2": ["attack.adversary.steps=3"],
    "spatial": ["attack.adversary.angle_step=15"],
    "union": _UNION, "union_concat": _UNION, "union_script": _UNION,
}

# Short runs on `faint_root` whose AUROC moves from epoch to epoch (lr 0.01 learns something in a few steps).
FAINT = ["trainer.max_epochs=2", "dataset.batch_size=16", "optimizer.lr=0.01", "eval_every_n_epochs=1", "num_threads=1",
         "logger=none", "trainer.enable_progress_bar=false", "skip_completed=false"]


def conf_settings(name: str, key: str | None = None) -> dict:
    """The plain settings of conf/<name>.yaml (e.g. "adversary/spatial", "crafting/epoch"), or of its node
    `key` (e.g. "adversary" of "attack/noise"): its keys less `_target_`, `defaults`, nested objects and
    interpolations into other config groups (`${dataset.pgd_steps}`); one with a default of its own
    (`${oc.select:smoke.l2_steps,100}`) reads as that default. Constructors have no defaults (every value
    lives in conf/), so tests that build objects directly pass these rather than repeat the YAML."""
    from omegaconf import OmegaConf
    from omegaconf.errors import InterpolationResolutionError

    node = OmegaConf.load(REPO / "conf" / f"{name}.yaml")
    node = node if key is None else OmegaConf.select(node, key)
    settings = {}
    for k in node:
        if k in ("_target_", "defaults"):
            continue
        try:
            value = node[k]
        except InterpolationResolutionError:  # a value of another config group
            continue
        if not OmegaConf.is_dict(value):
            settings[k] = OmegaConf.to_object(value) if OmegaConf.is_list(value) else value
    return settings


def data_source(dataset: str, **settings):
    """The data source of conf/dataset/<dataset>.yaml built directly: its plain settings (`conf_settings`),
    `settings` (e.g. root=..., path=..., image_size=16) replacing some."""
    from arae.data import build_source

    return build_source(**{"name": dataset, **conf_settings(f"dataset/{dataset}", "source"), **settings})


def mlp(image_shape, **settings):
    """conf/model/mlp.yaml's autoencoder on `image_shape`, `settings` (e.g. hidden_dims=(32, 16)) replacing some."""
    from arae.models import MLPAutoencoder

    return MLPAutoencoder(image_shape, **{**conf_settings("model/mlp"), **settings})


def rng(seed: int = 0):
    """The randomness an attack is called with: a CPU generator seeded with `seed` (the numbers torch's
    global generator gives after torch.manual_seed(seed))."""
    import torch

    from arae.attacks import Stream

    return Stream(torch.Generator().manual_seed(seed))


@pytest.fixture
def model():
    """A small seeded MLP autoencoder on 1x8x8 images, for attack and speed tests."""
    import torch

    torch.manual_seed(0)
    return mlp((1, 8, 8), hidden_dims=(32, 16, 8))


@pytest.fixture
def batch():
    """32 seeded 1x8x8 images: 4 all black and 4 all white (pixels at the edges of [0, 1], where clipping
    matters), 8 uniform, and 16 digit-like ones with many exact zeros."""
    import torch

    torch.manual_seed(1)
    x = torch.rand(32, 1, 8, 8)
    x[:4] = 0.0
    x[4:8] = 1.0
    x[16:] = x[16:] * (torch.rand(16, 1, 8, 8) > 0.5)
    return x


@pytest.fixture
def runs(fake_root, tmp_path_factory):
    """Two tiny trained runs with checkpoints (tests/detector_runs.py), trained once per session."""
    from detector_runs import shared_runs

    return shared_runs(fake_root, tmp_path_factory)


@pytest.fixture(scope="session")
def fake_root(tmp_path_factory) -> Path:
    """A data root holding tiny MNIST and Fashion-MNIST in torchvision's raw IDX layout."""
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, "MNIST")
    write_idx_dataset(root, "FashionMNIST")
    return root


@pytest.fixture(scope="session")
def faint_root(tmp_path_factory) -> Path:
    """A data root holding a tiny MNIST whose classes are only faintly visible (fakedata.faint_class_images):
    short runs on it have an AUROC well inside (0, 1) that moves between epochs."""
    return write_faint_idx_dataset(tmp_path_factory.mktemp("faint"))


@pytest.fixture(scope="session")
def image_root(fake_root) -> Path:
    """`fake_root` plus tiny COIL-100, CIFAR-10 (pickles and a JPEG folder), Head CT and Brain MRI."""
    return write_image_datasets(fake_root)


def run_train(
    args: list[str],
    data_root: Path,
    cwd: Path,
    timeout: int = 300,
    env: dict | None = None,
    subprocess_run: bool = False,
) -> subprocess.CompletedProcess:
    """Run `train.py ARGS` as a user would, with outputs under `cwd` (W&B disabled unless `env` says).

    In this process by default: the same Hydra entry point, command line, working folder and environment,
    with the exit status, stdout and stderr returned as from a subprocess, but without paying the imports
    of torch, Lightning and Hydra again (seconds per run). `subprocess_run=True` starts a real process, for
    what only one can show (signals, a kill from outside, the interpreter's own exit)."""
    env = {"ARAE_DATA_DIR": str(data_root), "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1", **(env or {})}
    if subprocess_run:
        return subprocess.run(
            [sys.executable, str(REPO / "train.py"), *args],
            cwd=cwd,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return _run_in_process(["train.py", *args], cwd, env)


def _run_in_process(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    import contextlib
    import io
    import logging

    from hydra.core.global_hydra import GlobalHydra

    from arae.train import main

    saved_env = {k: os.environ.get(k) for k in env}
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    code = 0
    os.environ.update(env)
    sys.argv = argv
    os.chdir(cwd)
    GlobalHydra.instance().clear()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
                if isinstance(stop.code, str):
                    print(stop.code, file=sys.stderr)
    finally:
        GlobalHydra.instance().clear()
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for logger in [logging.getLogger(), *map(logging.getLogger, list(logging.root.manager.loggerDict))]:
            for handler in list(getattr(logger, "handlers", [])):  # Hydra's handlers hold the captured streams
                if isinstance(handler, logging.FileHandler | logging.StreamHandler):
                    logger.removeHandler(handler)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def real_mnist_available(folder: str = "MNIST") -> bool:
    return (REAL_DATA / folder / "raw" / "train-images-idx3-ubyte").exists() or (
        REAL_DATA / folder / "raw" / "train-images-idx3-ubyte.gz"
    ).exists()


@functools.cache
def _composed_protocol(name: str) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from arae.config import register_resolvers

    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"protocol={name}", "normal_class=1"])
    return OmegaConf.to_container(cfg.protocol, resolve=True)


def protocol_config(name: str):
    """conf/protocol/<name>.yaml as the training config composes it (its interpolations resolved), a copy."""
    from omegaconf import OmegaConf

    return OmegaConf.create(_composed_protocol(name))


def protocol(name: str, source, normal_class, seed: int = 0, **settings):
    """The DataModule of conf/protocol/<name>.yaml over `source`, `settings` replacing some of its keys
    (built by its class directly, so its own errors arrive unwrapped by Hydra)."""
    from hydra.utils import get_class

    config = {**protocol_config(name), **settings}
    return get_class(config.pop("_target_"))(source, normal_class, seed=seed, **config)
