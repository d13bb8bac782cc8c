"""Tiny trained checkpoints on fake data, shared by the detector and analysis tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from conftest import TINY, run_train
from fakedata import class_images

from arae.data.idx import write_idx

# TINY without `callbacks.checkpoint=null`: these runs must save checkpoints/last.ckpt.
WITH_CHECKPOINT = [o for o in TINY if not o.startswith("callbacks.checkpoint")]


def train_run(data_root: Path, out: Path, *overrides: str) -> Path:
    proc = run_train([*WITH_CHECKPOINT, "normal_class=8", f"hydra.run.dir={out}", *overrides], data_root, out.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def with_other_test_split(fake_root: Path, root: Path) -> Path:
    """A copy of the fake MNIST whose test split is different (images drawn anew, labels that do not match
    them, so the test AUROC changes); the training split is the same."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        shutil.copy(fake_root / "MNIST" / "raw" / name, raw / name)
    labels = np.repeat(np.arange(10), 12).astype(np.uint8)
    shown = np.random.default_rng(7).permutation(labels)
    write_idx(raw / "t10k-images-idx3-ubyte", class_images(shown, seed=9))
    write_idx(raw / "t10k-labels-idx1-ubyte", labels)
    return root


_CACHE: dict[str, dict[str, Path]] = {}


def shared_runs(fake_root: Path, tmp_path_factory) -> dict[str, Path]:
    """Two runs with the same training split and seed but different test splits, trained once per session
    however many test modules ask for them."""
    key = str(fake_root)
    if key not in _CACHE:
        base = tmp_path_factory.mktemp("detector_runs")
        other_root = with_other_test_split(fake_root, base / "other_data")
        _CACHE[key] = {
            "a": train_run(fake_root, base / "a"),
            "b": train_run(other_root, base / "b"),
            "other_root": other_root,
        }
    return _CACHE[key]
