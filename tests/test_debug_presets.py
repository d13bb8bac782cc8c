"""The debug presets (conf/debug/): real runs of seconds, and epochs that attack only what they use."""

import csv
import json

import pytorch_lightning as pl
from conftest import REPO, run_train
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from arae.config import register_resolvers
from arae.pipeline import build_module


class CountingAttack:
    """Wraps an attack and counts the images it is asked to perturb."""

    def __init__(self, attack) -> None:
        self.attack, self.images = attack, 0

    def __call__(self, model, x, rng):
        self.images += len(x)
        return self.attack(model, x, rng)


def _attacked_images(fake_root, limit_train_batches) -> tuple[int, int]:
    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"data_root={fake_root}", "dataset.batch_size=8", "dataset.pgd_steps=2"])
    source = instantiate(cfg.dataset.source)
    datamodule = instantiate(cfg.protocol, source=source, normal_class=8, seed=0)
    datamodule.setup("fit")
    module = build_module(cfg, datamodule)
    module.attack = CountingAttack(module.attack)
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=limit_train_batches,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=datamodule)
    return module.attack.images, len(datamodule.train_set())


def test_epoch_crafting_attacks_only_the_batches_an_epoch_uses(fake_root):
    attacked, n_train = _attacked_images(fake_root, limit_train_batches=2)
    assert n_train > 16 and attacked == 16
    attacked, n_train = _attacked_images(fake_root, limit_train_batches=1.0)
    assert attacked == n_train


def _results(cwd):
    (path,) = sorted(cwd.rglob("results.json"))
    return path, json.loads(path.read_text())


def test_debug_fast_is_a_real_run_of_seconds(fake_root, tmp_path):
    args = ["debug=fast", "dataset.batch_size=8", "num_threads=1", "trainer.enable_progress_bar=false"]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path, results = _results(tmp_path)
    assert "outputs/debug" in str(path)
    assert results["status"] == "completed" and results["epochs"] == 2
    assert results["steps"] == 2 * 3  # 3 of the 5 batches of each of 2 epochs
    assert results["config"]["attack"]["adversary"]["steps"] == 2
    assert results["wall_seconds"] < 15


def test_debug_overfit_repeats_the_same_few_batches(fake_root, tmp_path):
    args = ["debug=overfit", "trainer.max_epochs=3", "dataset.batch_size=8", "num_threads=1", "logger=csv"]
    proc = run_train([*args, "trainer.enable_progress_bar=false"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path, results = _results(tmp_path)
    assert results["steps"] == 3 * 2  # overfit_batches: 2 batches per epoch, whole batches of 8
    losses = [float(r["train/loss"]) for r in csv.DictReader((path.parent / "csv" / "metrics.csv").open()) if r["train/loss"]]
    assert len(losses) == 3 and losses[-1] < losses[0]  # what the preset promises: the loss falls from its start


def test_the_overfit_preset_promises_what_it_does():
    """It falls to the mean-image plateau, not towards zero (conf/debug/overfit.yaml, docs/presets.md)."""
    for text in ((REPO / "conf" / "debug" / "overfit.yaml").read_text(), (REPO / "docs" / "presets.md").read_text()):
        flat = " ".join(text.replace("#", " ").split())
        assert "mean-image plateau" in flat and "should fall towards zero" not in flat and "must fall towards zero" not in flat


def test_debug_profile_writes_the_profilers_table(fake_root, tmp_path):
    proc = run_train(["debug=profile", "num_threads=1", "trainer.enable_progress_bar=false"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path, results = _results(tmp_path)
    profile = path.parent / "profile" / "fit-profile.txt"
    assert "on_train_epoch_start" in profile.read_text()
    assert results["epochs"] == 1
