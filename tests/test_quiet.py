"""A run prints what is ours to say: no warning that the framework itself causes, Lightning's banners once
per process (a sweep) or never, one bf16 warning, and the summary's results path whole."""

from __future__ import annotations

import io
import logging
import warnings

import pytest
from conftest import TINY, run_train
from rich.console import Console

from arae.task import print_summary


def test_a_tiny_training_causes_no_framework_warning(fake_root, tmp_path, monkeypatch):
    """Every warning raised during the run is an error, as `python -W error` would make it. Lightning's
    advice on DataLoader workers depends on the machine's cores: it is forced to apply here."""
    from pytorch_lightning.trainer.connectors import data_connector

    monkeypatch.setattr(data_connector, "suggested_max_num_workers", lambda devices: 8)
    args = [a for a in TINY if a not in ("logger=none", "callbacks.checkpoint=null")] + ["trainer.max_epochs=1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr and "warn" not in proc.stderr.lower(), proc.stderr


def test_lightning_banners_once_per_process_tips_never(monkeypatch):
    from pytorch_lightning.utilities.rank_zero import rank_zero_info

    from arae.training.console import LIGHTNING_INFO, LightningBanners, quiet_lightning

    logger = logging.getLogger(LIGHTNING_INFO)  # as in a fresh process: without the filter of earlier runs
    monkeypatch.setattr(logger, "filters", [f for f in logger.filters if not isinstance(f, LightningBanners)])
    quiet_lightning()
    quiet_lightning()  # a second job of the sweep installs nothing twice
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    try:
        for _job in range(3):
            rank_zero_info("GPU available: False, used: False")
            rank_zero_info("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
            rank_zero_info("`Trainer.fit` stopped: `max_epochs=2` reached.")
            rank_zero_info("something else Lightning has to say")
    finally:
        logger.removeHandler(handler)
    assert seen == ["GPU available: False, used: False"] + ["something else Lightning has to say"] * 3


def test_bf16_on_a_cpu_without_it_is_said_once_per_sweep(fake_root, tmp_path, monkeypatch):
    from arae.training import crafting

    monkeypatch.setattr(crafting, "cpu_has_fast_bf16", lambda: False)
    crafting.warn_if_bf16_is_slow.cache_clear()  # as in a fresh process
    proc = run_train(["-m", *TINY, "trainer.max_epochs=1", "precision=fast", "seed=0,1"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(tmp_path.rglob("results.json"))) == 2
    assert (proc.stdout + proc.stderr).count("without native bfloat16") == 1, proc.stdout + proc.stderr


@pytest.mark.parametrize("width", [80, 40])
def test_the_summary_prints_the_results_path_whole(width):
    folder = "/very/long/" + "multirun_outputs/table6/" * 6 + "linf-mnist-c4_5-s0/normal_class=[4,5]"
    results = {
        "run_name": "linf-mnist-c4_5-s0", "epochs": 2, "normal_classes": [4, 5], "output_dir": folder,
        "test": {"auroc": 0.9, "fpr@99.5tpr": 0.5, "f1": 0.9}, "auroc_last_k": {"k": 2, "mean": 0.9, "std": 0.01},
        "seconds_per_epoch": 1.0, "wall_seconds": 2.0,
    }  # fmt: skip
    out = io.StringIO()
    print_summary(results, Console(file=out, width=width))
    assert f"{folder}/results.json" in out.getvalue().splitlines()[-1]
