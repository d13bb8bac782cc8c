"""The framework side of the benchmarks: configs composed as train.py composes them (one per attack and
precision), MNIST-shaped random images where the real files are absent, and one epoch or evaluation
through the Lightning Trainer as train.py runs it."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from timing import timed

from arae.config import register_resolvers
from arae.data.registry import register_source
from arae.data.sources import ImageSource
from arae.training import EpochTimer
from arae.training.monitor import evaluate

REPO = Path(__file__).resolve().parents[1]
BENCH_OVERRIDES = ["logger=none", "callbacks.checkpoint=null", "trainer.enable_progress_bar=false"]
FIRST = {"none": 0, "noise": 1, "linf": 2, "spatial": 3, "union": 4}  # the rows, then the rest by name
# Precision settings of a row: conf/precision presets (float32 = no preset, the default arithmetic).
PRECISIONS = {"float32": [], "fast": ["precision=fast"]}
NO_ATTACK = {"name": "none", "gamma": 0.0, "adversary": {"_target_": "arae.attacks.NoAttack"}}


@register_source("bench_synthetic")
class SyntheticMnist(ImageSource):
    """MNIST-shaped random images (used only when the real MNIST files are absent): 6000 training images
    of class 8 among 60000, 10000 test images. Timing does not depend on pixel values."""

    image_shape = (1, 28, 28)
    classes = [str(c) for c in range(10)]

    def __init__(self, **_ignored) -> None:
        self.generator = torch.Generator().manual_seed(0)

    def split(self, train: bool):
        n = 60000 if train else 10000
        labels = torch.randint(0, 10, (n,), generator=self.generator)
        if train:
            labels[:6000], labels[6000:][labels[6000:] == 8] = 8, 0
        return torch.randint(0, 256, (n, 1, 28, 28), generator=self.generator, dtype=torch.uint8), labels


def attack_names() -> list[str]:
    """Every attack config file, plus a built-in `none` row (NoAttack, gamma 0) if no none.yaml exists."""
    names = [p.stem for p in (REPO / "conf" / "attack").glob("*.yaml")]
    names.sort(key=lambda n: (FIRST.get(n, len(FIRST)), n))
    return names if "none" in names else ["none", *names]


def for_attack(attack: str, overrides: list[str]) -> list[str]:
    """Overrides for one row: `NAME:key=value` applies to attack NAME only, anything else to every row."""
    chosen = []
    for override in overrides:
        name, sep, rest = override.partition(":")
        if not sep or "=" in name:
            chosen.append(override)
        elif name == attack:
            chosen.append(rest)
    return chosen


def compose_config(attack: str, overrides: list[str], precision: str = "float32") -> DictConfig:
    register_resolvers()
    overrides = [*PRECISIONS[precision], *for_attack(attack, overrides)]
    from_file = (REPO / "conf" / "attack" / f"{attack}.yaml").exists()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"attack={attack if from_file else 'linf'}", *BENCH_OVERRIDES, *overrides])
    if not from_file and attack == "none":
        OmegaConf.set_struct(cfg, False)
        cfg.attack = NO_ATTACK
    elif not from_file:
        raise SystemExit(f"no conf/attack/{attack}.yaml; choose from {', '.join(attack_names())}")
    return cfg


def real_data_available(cfg: DictConfig) -> bool:
    raw = Path(cfg.data_root) / "MNIST" / "raw"
    return (raw / "train-images-idx3-ubyte").exists() or (raw / "train-images-idx3-ubyte.gz").exists()


def trainer_for(cfg: DictConfig, root: str, callbacks=()):
    return instantiate(
        cfg.trainer,
        logger=False,
        callbacks=list(callbacks),
        enable_checkpointing=False,
        enable_progress_bar=False,
        max_epochs=1,
        limit_val_batches=0,
        default_root_dir=root,
    )


def framework_epoch(cfg: DictConfig, module, datamodule, root: str) -> tuple[float, float]:
    """One epoch of trainer.fit, timed by the same EpochTimer callback that train.py uses, and the seconds
    of saving that trainer's checkpoint (what the checkpoint callback writes every few epochs)."""
    timer = EpochTimer()
    trainer = trainer_for(cfg, root, [timer])
    trainer.fit(module, datamodule=datamodule)
    start = time.perf_counter()
    trainer.save_checkpoint(str(Path(root) / "bench.ckpt"))
    return timer.seconds[0], time.perf_counter() - start


def framework_eval(cfg: DictConfig, module, datamodule, root: str) -> float:
    """One scheduled evaluation as train.py runs it (the EpochEvaluation callback's pass and metrics)."""
    device = torch.device("cuda" if cfg.trainer.accelerator == "gpu" else "cpu")
    module.net.to(device)
    loader = datamodule.eval_dataloader()
    return timed(lambda: evaluate(module.net, loader), device)
