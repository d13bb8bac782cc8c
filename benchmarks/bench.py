"""Seconds per training epoch of each attack config: through the framework (ARAEModule under the Lightning
Trainer, built as train.py builds it), through a minimal hand-written PyTorch loop doing the same arithmetic,
and at the compute floor (the epoch's counted matmul FLOPs / this machine's measured matmul throughput).
Also one evaluation pass over the test split. Prints a table and writes benchmarks/results/<date_time>.json.

Precisions: the none, noise and linf rows (--fast-attacks) are also measured with the fast setting
(precision=fast: the attack under bfloat16 autocast, training in bf16-mixed), in the same run; the floor is
given at both precisions (counted FLOPs / measured float32, resp. bfloat16, matmul throughput). On a CPU
without native bfloat16 matmuls (cpu_has_fast_bf16() false) those rows are skipped, and the table and the
JSON say so. --precisions float32 leaves them out.

Whole run: seconds per epoch of a whole training run at the default cadence (evaluation every
eval_every_n_epochs epochs and at each of the last last_k, a checkpoint every callbacks.checkpoint
.every_n_epochs and after the last epoch) over --whole-epochs epochs (default: the data set's paper budget),
composed from the parts measured here (training epoch, evaluation pass, checkpoint save), against the
training-only seconds per epoch; whole/train is that ratio.

    python benchmarks/bench.py                    # every conf/attack/*.yaml, MNIST class 8, batch 256
    python benchmarks/bench.py --attacks linf --repeats 5 --overrides crafting.chunk_size=8192
    python benchmarks/bench.py --threads 0 --overrides linf:crafting.autocast=bfloat16

One torch thread by default (--threads): on a machine shared with other jobs it is several times faster
and far steadier than PyTorch's one-thread-per-core default; the floor is measured with the same threads.

Framework and hand-loop epochs are interleaved (framework, hand, framework, hand, ...) so that a shared,
noisy machine slows both alike; the first epoch of each is a warm-up and is not counted; figures are
medians. An attack whose full epoch would take longer than --max-epoch-seconds is timed on a subset of
the training images and its epoch time extrapolated linearly (the row says so).

This file measures the rows and writes the results; the parts it measures with lie beside it, one concern
each: framework.py (configs and the Trainer's epoch), hand_loop.py, flops.py (the FLOP counter), matmul.py
(the matmul probe), timing.py and table.py (the printed table). gpu.py and fast_arae.py use them too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from flops import epoch_flops  # noqa: E402
from framework import PRECISIONS, attack_names, compose_config, framework_epoch, framework_eval, real_data_available  # noqa: E402
from hand_loop import autocast_attack, hand_attack, hand_epoch, hand_eval, train_dtype  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from matmul import bf16_available, throughputs  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402
from table import table  # noqa: E402
from timing import machine, quiet, timed  # noqa: E402

from arae.pipeline import build_datamodule, build_module, set_threads  # noqa: E402
from arae.results import write_json_atomic  # noqa: E402
from arae.training.monitor import EvaluationSchedule  # noqa: E402

RESULTS_DIR = REPO / "benchmarks" / "results"
FAST_ATTACKS = ["none", "noise", "linf"]  # the rows also measured with precision=fast by default
BF16_SKIPPED = ("bf16 rows skipped: this CPU has no native bfloat16 matmuls (cpu_has_fast_bf16() is false; "
                "AVX-512 BF16 or AMX needed), where they run many times slower than float32")


def subset_size(n: int, seconds: float, max_seconds: float, batch_size: int) -> int:
    """How many of `n` images to time so that an epoch takes about `max_seconds` (all if it already does)."""
    return n if seconds <= max_seconds else min(n, max(batch_size, int(n * max_seconds / seconds)))


def bench_attack(name: str, args, root: str, device: torch.device, precision: str = "float32") -> dict:
    cfg = compose_config(name, args.overrides, precision)
    torch.set_float32_matmul_precision(cfg.matmul_precision)  # as train.py does; the hand loop shares it
    set_threads(cfg.num_threads)
    datamodule = build_datamodule(cfg)
    n_full = len(datamodule.train_set())
    module = build_module(cfg, datamodule)
    attack, hand_kind = hand_attack(instantiate(cfg.attack.adversary))
    if cfg.crafting.get("autocast"):  # the hand loop casts as the framework's crafting does
        attack, hand_kind = autocast_attack(attack, device, cfg.crafting.autocast), f"{hand_kind}, autocast"
    gamma, batch_size = float(cfg.attack.gamma), int(cfg.dataset.batch_size)
    chunk = int(cfg.crafting.get("chunk_size", batch_size))
    net = instantiate(cfg.model, image_shape=datamodule.image_shape).to(device)
    optimizer_factory = instantiate(cfg.optimizer)
    optimizer = optimizer_factory(net.parameters())
    images = datamodule.train_set().to(device)
    cast = train_dtype(cfg)
    bf16 = bf16_available(device)

    flops = epoch_flops(net, optimizer_factory, images, attack, gamma, batch_size, chunk, train_dtype=cast)
    first, first_bf16 = throughputs(device, bf16)
    throughput, throughput_bf16 = [first], [first_bf16]
    # The warm-up: at most one batch, fewer for costly attacks (guessed from the FLOPs); it also gives the
    # first measure of the epoch time, from which the timed subset is chosen.
    guess = 3.0 * flops / (throughput[0] * 1e9)
    n = max(32, min(n_full, batch_size, subset_size(n_full, guess, args.max_epoch_seconds / 2, 1)))
    framework, hand, checkpoint = [], [], []
    for i in range(args.repeats + 1):  # interleaved; i == 0 is the warm-up
        if i == 1:
            n = subset_size(n_full, max(framework[0], hand[0]), args.max_epoch_seconds, min(64, batch_size))
        # The framework and the hand loop time the same n images: the rest leave the DataModule's training
        # set as a calibration split would.
        datamodule.calibration_split((n_full - n) / n_full, seed=0)
        subset = datamodule.train_set().to(device)
        epoch_s, checkpoint_s = framework_epoch(cfg, module, datamodule, root)
        framework.append(epoch_s * n_full / n)
        checkpoint.append(checkpoint_s)
        hand.append(timed(lambda subset=subset: hand_epoch(net, optimizer, subset, attack, gamma, batch_size, chunk, cast), device)
                    * n_full / n)
        fp32, fp16 = throughputs(device, bf16)
        throughput.append(fp32)
        throughput_bf16.append(fp16)
        print(f"  {name} ({precision}): repeat {i}{' (warm-up)' if i == 0 else ''} on {n} images: framework {framework[-1]:.3f} s, "
              f"hand {hand[-1]:.3f} s per full epoch", flush=True)
    gflops = statistics.median(throughput)
    gflops_bf16 = statistics.median(throughput_bf16) if bf16 else None
    row = {
        "attack": name,
        "precision": precision,
        "precision_overrides": PRECISIONS[precision],
        "config": OmegaConf.to_container(cfg.attack, resolve=True),
        "hand_attack": hand_kind,
        "images": n_full,
        "timed_images": n,
        "extrapolated": n < n_full,
        "framework_s": statistics.median(framework[1:]),
        "hand_s": statistics.median(hand[1:]),
        "floor_s": flops / (gflops * 1e9),
        "floor_bf16_s": flops / (gflops_bf16 * 1e9) if gflops_bf16 else None,
        "epoch_gflop": flops / 1e9,
        "matmul_gflops": gflops,
        "matmul_gflops_bf16": gflops_bf16,
        "checkpoint_s": statistics.median(checkpoint[1:]),
        "framework_repeats_s": framework,
        "hand_repeats_s": hand,
    }
    row["framework_over_hand"] = row["framework_s"] / row["hand_s"]
    # On a shared machine noise only adds time: the ratio of the fastest repeats is the steadier figure.
    row["framework_over_hand_best"] = min(framework[1:]) / min(hand[1:])
    row["framework_over_floor_best"] = min(framework[1:]) / row["floor_s"]
    row["framework_over_floor"] = row["framework_s"] / row["floor_s"]
    row["hand_over_floor"] = row["hand_s"] / row["floor_s"]
    # The floor of the row's own arithmetic: bfloat16 throughput for the fast setting.
    own_floor = row["floor_bf16_s"] if precision == "fast" and row["floor_bf16_s"] else row["floor_s"]
    row["framework_over_own_floor"] = row["framework_s"] / own_floor
    return row


def cadence(cfg: DictConfig, epochs: int) -> dict:
    """How many evaluations and checkpoint saves a run of `epochs` epochs makes at the configured cadence
    (train.py's EvaluationSchedule; the checkpoint every callbacks.checkpoint.every_n_epochs and after the
    last epoch, as conf/train.yaml sets it even where the bench turns it off)."""
    schedule = EvaluationSchedule(epochs, int(cfg.last_k), int(cfg.eval_every_n_epochs))
    every = int(OmegaConf.load(REPO / "conf" / "train.yaml").callbacks.checkpoint.every_n_epochs)
    saves = epochs // every + (epochs % every != 0)
    return {"epochs": epochs, "evaluations": sum(schedule.due(e) for e in range(1, epochs + 1)),
            "checkpoints": saves, "eval_every_n_epochs": int(cfg.eval_every_n_epochs), "last_k": int(cfg.last_k),
            "checkpoint_every_n_epochs": every}


def whole_run(row: dict, evaluation: dict, plan: dict) -> dict:
    """Seconds per epoch of a whole run of plan["epochs"] epochs from the measured parts, and its ratio
    to the training-only seconds per epoch (the goal: <= 1.10)."""
    extra = plan["evaluations"] * evaluation["framework_s"] + plan["checkpoints"] * row["checkpoint_s"]
    whole = row["framework_s"] + extra / plan["epochs"]
    return {"whole_s": whole, "whole_over_train": whole / row["framework_s"]}


def bench_eval(args, root: str, device: torch.device) -> dict:
    cfg = compose_config("linf", args.overrides)
    torch.set_float32_matmul_precision(cfg.matmul_precision)
    set_threads(cfg.num_threads)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    net = instantiate(cfg.model, image_shape=datamodule.image_shape).to(device)
    test = datamodule.test_set()
    images, labels = test.images.to(device), test.labels.to(device)
    batch = int(cfg.protocol.eval_batch_size)
    framework, hand = [], []
    for _ in range(args.repeats + 1):
        framework.append(framework_eval(cfg, module, datamodule, root))
        hand.append(timed(lambda: hand_eval(net, images, labels, batch), device))
    return {
        "images": len(images),
        "eval_batch_size": batch,
        "framework_s": statistics.median(framework[1:]),
        "hand_s": statistics.median(hand[1:]),
        "framework_repeats_s": framework,
        "hand_repeats_s": hand,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attacks", nargs="+", default=None, help="attack config names (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per attack and side, after one warm-up")
    parser.add_argument("--max-epoch-seconds", type=float, default=5.0,
                        help="time a subset of the images when an epoch would take longer (extrapolated)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (num_threads); 1 by default: steadiest on a shared machine; 0 = PyTorch's default")
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation pass (and the whole-run column)")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS),
                        help="float32 (every row) and fast (precision=fast: bf16 attack + bf16-mixed training, "
                             "the --fast-attacks rows); default both")
    parser.add_argument("--fast-attacks", nargs="+", default=FAST_ATTACKS,
                        help=f"rows also measured with precision=fast (default: {' '.join(FAST_ATTACKS)})")
    parser.add_argument("--whole-epochs", type=int, default=None,
                        help="epochs of the whole run in the whole-run column (default: the data set's paper budget)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder of the results JSON")
    parser.add_argument("--overrides", nargs="*", default=[],
                        help="Hydra overrides for every row; NAME:key=value for attack NAME's row only")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    quiet()
    started = time.perf_counter()
    args.overrides = [f"num_threads={args.threads or 'null'}", *args.overrides]
    if torch.cuda.is_available() and not any(o.startswith("trainer=") for o in args.overrides):
        args.overrides = ["trainer=gpu", *args.overrides]
    probe = compose_config("linf", args.overrides)
    if not real_data_available(probe):
        print(f"MNIST not found under {probe.data_root}: timing MNIST-shaped random images instead")
        args.overrides = ["dataset.source.name=bench_synthetic", *args.overrides]
    data = "mnist" if real_data_available(probe) else "bench_synthetic"
    device = torch.device("cuda" if probe.trainer.accelerator == "gpu" else "cpu")
    names = args.attacks or attack_names()
    skipped = None
    fast = "fast" in args.precisions and any(n in args.fast_attacks for n in names)
    if fast and not bf16_available(device):
        skipped, fast = BF16_SKIPPED, False
        print(skipped)
    rows = []
    with tempfile.TemporaryDirectory(prefix="arae-bench-") as root:
        for name in names:
            if "float32" in args.precisions:
                rows.append(bench_attack(name, args, root, device, "float32"))
            if fast and name in args.fast_attacks:
                rows.append(bench_attack(name, args, root, device, "fast"))
        evaluation = None if args.no_eval else bench_eval(args, root, device)
    plan = cadence(probe, args.whole_epochs or int(probe.dataset.paper_epochs))
    if evaluation:
        for row in rows:
            row.update(whole_run(row, evaluation, plan))
    report = table(rows, evaluation, skipped)
    print(f"\nseconds per training epoch, {data} class {probe.normal_class}, batch {probe.dataset.batch_size}, "
          f"median of {args.repeats} after a warm-up (best: ratio of the fastest repeats); "
          f"floor = counted matmul FLOPs / measured float32 (bf16 floor: bfloat16) matmul throughput; whole = "
          f"s/epoch of a {plan['epochs']}-epoch run with its {plan['evaluations']} evaluations and "
          f"{plan['checkpoints']} checkpoints, from the measured parts; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores, {torch.get_num_threads()} torch threads\n")
    print(report)
    payload = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(device),
        "data": data,
        "normal_class": probe.normal_class,
        "overrides": args.overrides,
        "repeats": args.repeats,
        "rows": rows,
        "eval": evaluation,
        "precisions": args.precisions,
        "bf16_native": bf16_available(device),
        "bf16_skipped": skipped,
        "whole_run": plan,
        "table": report,
        "bench_seconds": time.perf_counter() - started,
    }
    path = args.out / f"{dt.datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    write_json_atomic(path, payload)
    print(f"\n{path}  ({payload['bench_seconds']:.0f} s)")
    return payload


if __name__ == "__main__":
    main()
