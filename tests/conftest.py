from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fakedata import write_idx_dataset  # noqa: E402
from fakeimages import write_image_datasets  # noqa: E402

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


@pytest.fixture
def model():
    """A small seeded MLP autoencoder on 1x8x8 images, for attack and speed tests."""
    import torch

    from arae.models import MLPAutoencoder

    torch.manual_seed(0)
    return MLPAutoencoder((1, 8, 8), hidden_dims=(32, 16, 8))


@pytest.fixture(scope="session")
def fake_root(tmp_path_factory) -> Path:
    """A data root holding tiny MNIST and Fashion-MNIST in torchvision's raw IDX layout."""
    root = tmp_path_factory.mktemp("data")
    write_idx_dataset(root, "MNIST")
    write_idx_dataset(root, "FashionMNIST")
    return root


@pytest.fixture(scope="session")
def image_root(fake_root) -> Path:
    """`fake_root` plus tiny COIL-100, CIFAR-10 (pickles and a JPEG folder), Head CT and Brain MRI."""
    return write_image_datasets(fake_root)


def run_train(
    args: list[str], data_root: Path, cwd: Path, timeout: int = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run `python train.py ARGS` as a user would, with outputs under `cwd` (W&B disabled unless `env` says)."""
    env = {
        **os.environ,
        "ARAE_DATA_DIR": str(data_root),
        "WANDB_MODE": "disabled",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, str(REPO / "train.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def real_mnist_available(folder: str = "MNIST") -> bool:
    return (REAL_DATA / folder / "raw" / "train-images-idx3-ubyte").exists() or (
        REAL_DATA / folder / "raw" / "train-images-idx3-ubyte.gz"
    ).exists()
