"""Fast ARAE against the 40-step attack at equal training time: test AUROC against compute.

Each (normal class, attack) pair trains through the real pipeline (as train.py does) until its training
epochs (attack + optimiser steps; evaluation excluded) have used --seconds; the test AUROC is logged after
every epoch, so the table also reads the AUROC each run had reached at fractions of the budget. Compute is
also given in counted FLOPs (the benchmark's count per epoch x epochs), which does not depend on the load.

    python benchmarks/fast_arae.py --classes 2 8 --attacks linf linf_fast --seconds 120
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from bench import RESULTS_DIR
from flops import epoch_flops
from framework import compose_config
from hand_loop import hand_attack
from hydra.utils import instantiate
from timing import machine, quiet

from arae.pipeline import build_datamodule, train
from arae.results import write_json_atomic

FRACTIONS = (0.25, 0.5, 1.0)


def auroc_at(seconds: float, epoch_seconds: list[float], aurocs: list[float]) -> float | None:
    """The test AUROC after the last epoch that ended within `seconds` of training."""
    elapsed, value = 0.0, None
    for spent, auroc in zip(epoch_seconds, aurocs):
        elapsed += spent
        if elapsed > seconds * (1 + 1e-9):
            break
        value = auroc
    return value


def gflop_per_epoch(cfg) -> float:
    datamodule = build_datamodule(cfg)
    net = instantiate(cfg.model, image_shape=datamodule.image_shape)
    attack, _ = hand_attack(instantiate(cfg.attack.adversary))
    chunk = int(cfg.crafting.get("chunk_size", cfg.dataset.batch_size))
    flops = epoch_flops(net, instantiate(cfg.optimizer), datamodule.train_set(), attack,
                              float(cfg.attack.gamma), int(cfg.dataset.batch_size), chunk)
    return flops / 1e9


def run_one(attack: str, normal_class: int, args, root: Path) -> dict:
    overrides = [
        f"normal_class={normal_class}",
        f"seed={args.seed}",
        "trainer.max_epochs=100000",
        "eval_every_n_epochs=1",  # AUROC at fractions of the budget: every epoch is needed
        "+callbacks.budget._target_=arae.training.TrainingBudget",
        f"+callbacks.budget.seconds={args.seconds}",
        *args.overrides,
    ]
    cfg = compose_config(attack, overrides)
    gflop = gflop_per_epoch(cfg)
    started = time.perf_counter()
    results = train(cfg, root / f"{attack}-c{normal_class}")
    history, seconds = results["val_auroc_history"], results["epoch_seconds"]
    row = {
        "attack": attack,
        "normal_class": normal_class,
        "epochs": results["epochs"],
        "training_s": sum(seconds),
        "wall_s": time.perf_counter() - started,
        "gflop_per_epoch": gflop,
        "tflop": gflop * len(seconds) / 1e3,
        "test_auroc": results["test"]["auroc"],
        "auroc_at": {str(f): auroc_at(f * args.seconds, seconds, history) for f in FRACTIONS},
        "val_auroc_history": history,
        "epoch_seconds": seconds,
    }
    print(f"  {attack} class {normal_class}: {row['epochs']} epochs, {row['training_s']:.0f} s training, "
          f"{row['tflop']:.1f} TFLOP, test AUROC {row['test_auroc']:.4f}", flush=True)
    return row


def table(rows: list[dict], budget: float) -> str:
    at = "".join(f"{f'AUROC@{f:g}T':>12}" for f in FRACTIONS)
    head = f"{'class':<6}{'attack':<12}{'epochs':>7}{'train s':>9}{'wall s':>8}{'TFLOP':>8}{'test AUROC':>12}{at}"
    lines = [f"T = {budget:g} s of training per run", head, "-" * len(head)]
    for r in rows:
        cells = "".join(f"{v:>12.4f}" if v is not None else f"{'-':>12}" for v in r["auroc_at"].values())
        lines.append(f"{r['normal_class']:<6}{r['attack']:<12}{r['epochs']:>7}{r['training_s']:>9.0f}{r['wall_s']:>8.0f}"
                     f"{r['tflop']:>8.1f}{r['test_auroc']:>12.4f}{cells}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--attacks", nargs="+", default=["linf", "linf_fast"])
    parser.add_argument("--seconds", type=float, default=120.0, help="training seconds per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--overrides", nargs="*", default=[], help="Hydra overrides for every run")
    args = parser.parse_args(argv)
    quiet()
    rows = []
    with tempfile.TemporaryDirectory(prefix="arae-fast-") as root:
        for normal_class in args.classes:
            for attack in args.attacks:
                rows.append(run_one(attack, normal_class, args, Path(root)))
    report = table(rows, args.seconds)
    print("\n" + report)
    payload = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(torch.device("cpu")),
               "seconds": args.seconds, "seed": args.seed, "overrides": args.overrides, "rows": rows, "table": report}
    path = args.out / f"fast_arae_{dt.datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    write_json_atomic(path, payload)
    print(f"\n{path}")
    return payload


if __name__ == "__main__":
    main()
