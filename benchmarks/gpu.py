"""The GPU benchmark, prepared to run as one script on a CUDA machine (`make bench-gpu`). It records:

1. the device and its measured peak matmul throughput in float32, TF32 and bfloat16 (a large square matmul);
2. one MNIST ARAE training epoch (linf, 40 PGD steps, batch 256, the training set resident on the device)
   in float32, TF32 (matmul_precision=high) and bf16 (precision=fast), each also under torch.compile
   (a failure to compile is recorded, not raised), with the achieved TFLOP/s (counted FLOPs, flops.py's
   counting) against the measured peak of that precision;
3. a Table-6 slice (MNIST, --classes, --variants, the paper's budget unless --epochs) through
   `python train.py -m +experiment=table6 ... trainer=gpu` subprocesses, one job at a time, and again
   through hydra/launcher=ensemble (jobs that share an attack trained in one process as stacked members;
   --no-ensemble skips it): seconds per epoch, achieved
   TFLOP/s and AUROC per member (each job's results.json), and the projected wall time of every run of
   Table 6 (conf/experiment/table6*.yaml): paper epochs x s/epoch per member / members in flight.

It writes benchmarks/results/gpu_<date_time>.json (--out). Without a CUDA device it refuses, unless --dry:
a tiny CPU run (few images, 2 PGD steps, cheap L2 and spatial attacks, 1 epoch) of the same code paths
writing the same keys, "dry": true.

    python benchmarks/gpu.py                                  # on the GPU machine
    python benchmarks/gpu.py --classes 8 --epochs 100 --no-ensemble
    python benchmarks/gpu.py --dry                            # anywhere, one to two minutes

No network is used: data must be under ARAE_DATA_DIR (downloads are turned off), W&B is disabled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402
from bench import RESULTS_DIR  # noqa: E402
from flops import epoch_flops  # noqa: E402
from framework import compose_config, framework_epoch, real_data_available  # noqa: E402
from hand_loop import hand_attack  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from matmul import bf16_available, matmul_gflops  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from timing import machine, quiet  # noqa: E402

from arae.pipeline import build_datamodule, build_module, set_threads  # noqa: E402
from arae.results import write_json_atomic  # noqa: E402

# Epoch-timing settings: overrides, and which measured peak they are held against.
SETTINGS = {
    "float32": {"overrides": ["matmul_precision=highest"], "peak": "fp32"},
    "tf32": {"overrides": ["matmul_precision=high"], "peak": "tf32"},
    "bf16": {"overrides": ["precision=fast"], "peak": "bf16"},
}
VARIANTS = ["dae", "arae", "arae_a", "arae_r"]
CLASSES = ["3", "8"]
TABLE6 = ["table6", "table6_pairs"]
PEAK_SIZE, DRY_PEAK_SIZE = 8192, 256
# Dry mode: a handful of images and PGD steps, one epoch; the sweep trains 2 batches of 16 images, the
# ensemble (which trains whole epochs only) one epoch in batches of the data set's size; both with
# debug=smoke's cheap attacks (2 L2 steps, 27 spatial transforms: conf/debug/smoke.yaml), without which
# ARAE-A's epoch alone took minutes.
DRY = {"images": 64, "steps": 2, "epochs": 1, "batch_size": 16, "batches": 2}
DRY_ATTACKS = ["+smoke.l2_steps=2", "+smoke.spatial_angle_step=30"]
NO_CUDA = ("gpu.py: no CUDA device here (torch.cuda.is_available() is false; torch {torch}). Run it on a "
           "machine with an NVIDIA GPU, or pass --dry for a tiny CPU run of the same code paths.")


class Refusal(Exception):
    """A clear reason not to run: printed without a traceback, exit status 2."""


# -- configs ------------------------------------------------------------------------------------------
def variant_attack(variant: str) -> str:
    """The attack a conf/variant/*.yaml picks (its `override /attack` default)."""
    path = REPO / "conf" / "variant" / f"{variant}.yaml"
    if not path.exists():
        raise Refusal(f"unknown variant {variant!r}: no {path.relative_to(REPO)}")
    for entry in OmegaConf.load(path).defaults:
        if "override /attack" in entry:
            return entry["override /attack"]
    raise Refusal(f"{path.relative_to(REPO)} picks no attack")


def split_top_level(text: str) -> list[str]:
    """'[4,5],[0,7]' -> ['[4,5]', '[0,7]']: a sweep value list split at commas outside brackets."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [i.strip() for i in [*items, current] if i.strip()]


def sweep_values(value) -> list[str]:
    text = str(value).strip()
    if text.startswith("range(") and text.endswith(")"):
        return [str(i) for i in range(*(int(a) for a in text[6:-1].split(",")))]
    return split_top_level(text)


def table6_runs() -> dict[str, int]:
    """How many runs of each variant Table 6 has: the sweeps of conf/experiment/table6*.yaml (one seed)."""
    counts: dict[str, int] = {}
    for name in TABLE6:
        params = OmegaConf.load(REPO / "conf" / "experiment" / f"{name}.yaml").hydra.sweeper.params
        for variant in sweep_values(params.variant):
            counts[variant] = counts.get(variant, 0) + len(sweep_values(params.normal_class))
    return counts


def peak_key(overrides: list[str]) -> str:
    if "precision=fast" in overrides:
        return "bf16"
    return "tf32" if any(o in overrides for o in ("matmul_precision=high", "matmul_precision=medium")) else "fp32"


# -- 1. peaks -----------------------------------------------------------------------------------------
def peaks(device: torch.device, size: int) -> dict:
    """Measured matmul TFLOP/s of an n x n product: float32 exact, TF32 (matmul_precision high), bfloat16."""
    tflops = {
        "fp32": matmul_gflops(device, size, dtype=torch.float32, matmul_precision="highest") / 1e3,
        "tf32": matmul_gflops(device, size, dtype=torch.float32, matmul_precision="high") / 1e3,
        "bf16": matmul_gflops(device, size, dtype=torch.bfloat16) / 1e3 if bf16_available(device) else None,
    }
    return {"matmul_size": size, "peak_tflops": tflops}


# -- 2. one epoch -------------------------------------------------------------------------------------
def counted_gflop_per_image(cfg, datamodule, device: torch.device, sample: int = 64) -> float:
    """Counted matmul GFLOP per training image of one epoch of this config (flops.epoch_flops)."""
    attack, _ = hand_attack(instantiate(cfg.attack.adversary))
    net = instantiate(cfg.model, image_shape=datamodule.image_shape).to(device)
    images = datamodule.train_set()[:sample].to(device)
    batch = int(cfg.dataset.batch_size)
    flops = epoch_flops(net, instantiate(cfg.optimizer), images, attack, float(cfg.attack.gamma), batch,
                              int(cfg.crafting.get("chunk_size", batch)), sample)
    return flops / len(images) / 1e9


def compile_net(net, backend: str) -> None:
    """torch.compile the encoder and decoder (the attack calls encode/decode, not forward). The attack's
    inputs need gradients and the training step's do not, and chunk and batch sizes differ: more graphs
    than dynamo's default limit of recompilations, which is raised so that none falls back to eager."""
    import torch._dynamo

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    net.encoder = torch.compile(net.encoder, backend=backend)
    net.decoder = torch.compile(net.decoder, backend=backend)


def time_epoch(setting: str, compiled: bool, args, base: list[str], root: str, device: torch.device, peak: dict) -> dict:
    row = {"setting": setting, "compiled": compiled, "overrides": SETTINGS[setting]["overrides"],
           "compile_backend": args.compile_backend if compiled else None}
    try:
        cfg = compose_config("linf", [*base, *SETTINGS[setting]["overrides"]])
        torch.set_float32_matmul_precision(cfg.matmul_precision)
        set_threads(cfg.num_threads)
        datamodule = build_datamodule(cfg)
        n_full = len(datamodule.train_set())
        if args.images and args.images < n_full:  # time a subset, extrapolated to the full epoch
            datamodule.calibration_split((n_full - args.images) / n_full, seed=0)
        n = len(datamodule.train_set())
        gflop = counted_gflop_per_image(cfg, datamodule, device) * n_full
        module = build_module(cfg, datamodule)
        if compiled:
            compile_net(module.net, args.compile_backend)
        seconds = [framework_epoch(cfg, module, datamodule, root)[0] * n_full / n for _ in range(args.repeats + 1)]
        epoch_s = statistics.median(seconds[1:])
        achieved = gflop / epoch_s / 1e3
        top = peak["peak_tflops"][SETTINGS[setting]["peak"]]
        row.update({"images": n_full, "timed_images": n, "batch_size": int(cfg.dataset.batch_size),
                    "pgd_steps": int(cfg.dataset.pgd_steps), "epoch_s": epoch_s, "epoch_repeats_s": seconds,
                    "epoch_gflop": gflop, "tflops": achieved, "peak_tflops": top,
                    "fraction_of_peak": achieved / top if top else None, "error": None})
    except Exception as err:  # torch.compile (or a precision) not working here is a result, not a crash
        row.update({"epoch_s": None, "tflops": None, "error": f"{type(err).__name__}: {err}"[:2000]})
    outcome = row["error"] or f"{row['epoch_s']:.3f} s, {row['tflops']:.4f} TFLOP/s"
    print(f"  epoch {setting}{' compiled' if compiled else ''}: {outcome}", flush=True)
    return row


# -- 3. the Table-6 slice -----------------------------------------------------------------------------
def sweep_command(args, sweep_dir: Path, data_root: Path, launcher: str | None) -> list[str]:
    command = [sys.executable, str(REPO / "train.py"), "-m", "+experiment=table6",
               f"variant={','.join(args.variants)}", f"normal_class={','.join(args.classes)}",
               f"hydra.sweep.dir={sweep_dir}", f"data_root={data_root}", "dataset.source.download=false",
               "logger=none", "trainer.enable_progress_bar=false", "skip_completed=false"]
    if args.epochs:
        command.append(f"trainer.max_epochs={args.epochs}")
    if args.dry:
        command += [f"trainer.max_epochs={DRY['epochs']}", f"dataset.pgd_steps={DRY['steps']}",
                    f"num_threads={args.threads}", *DRY_ATTACKS]
        if launcher != "ensemble":  # ensemble epochs stay whole: a limit must cut every member's epoch or none
            command += [f"dataset.batch_size={DRY['batch_size']}", f"+trainer.limit_train_batches={DRY['batches']}"]
    else:
        command.append("trainer=gpu")
    if launcher:
        command.append(f"hydra/launcher={launcher}")
    return [*command, *args.sweep_overrides]


def run_sweep(label: str, args, runs_dir: Path, data_root: Path, gflop: dict, peak: dict, launcher: str | None) -> dict:
    sweep_dir = runs_dir / label
    command = sweep_command(args, sweep_dir, data_root, launcher)
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    print(f"  sweep {label}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=runs_dir, env=env, capture_output=True, text=True,
                              timeout=args.sweep_timeout, stdin=subprocess.DEVNULL)
        returncode, tail = proc.returncode, (proc.stdout + proc.stderr)[-3000:]
    except subprocess.TimeoutExpired as err:
        returncode, tail = None, f"timed out after {args.sweep_timeout} s: {str(err.stderr or '')[-2000:]}"
    wall = time.perf_counter() - started
    top = peak["peak_tflops"][peak_key(args.sweep_overrides)]
    members = []
    for path in sorted(sweep_dir.rglob("results.json")):
        results = json.loads(path.read_text())
        config = results.get("config") or {}
        attack = (config.get("attack") or {}).get("name")
        variant = next((v for v in args.variants if variant_attack(v) == attack), attack)
        spe, epochs = results.get("seconds_per_epoch"), results.get("epochs") or 0
        images = results.get("n_train") or 0
        if args.dry and images and launcher != "ensemble":
            images = min(images, DRY["batches"] * DRY["batch_size"])
        epoch_gflop = gflop.get(variant, 0.0) * images
        members.append({
            "run_name": results.get("run_name"), "variant": variant, "attack": attack,
            "normal_class": config.get("normal_class"), "status": results.get("status"), "epochs": epochs,
            "seconds_per_epoch": spe, "wall_seconds_per_epoch": results["wall_seconds"] / epochs if epochs else None,
            "epoch_gflop": epoch_gflop, "tflops": epoch_gflop / spe / 1e3 if spe else None, "peak_tflops": top,
            "auroc": (results.get("test") or {}).get("auroc"),
            "auroc_last_k": (results.get("auroc_last_k") or {}).get("mean"),
            "error": results.get("error"),
        })
    in_flight = len(args.classes) if launcher == "ensemble" else 1
    return {"launcher": launcher or "basic", "returncode": returncode, "wall_s": wall, "command": command[1:],
            "members_in_flight": in_flight, "members": members, "output_tail": tail if returncode else None}


def projection(sweep: dict, runs: dict[str, int], epochs: int) -> dict:
    """Wall time of every Table 6 run: per variant, paper epochs x the slice's mean s/epoch per member
    (training only, and whole wall time per epoch) / members in flight. Variants not in the slice are
    left out, and named."""
    by_variant: dict[str, list[dict]] = {}
    for member in sweep["members"]:
        if member["seconds_per_epoch"]:
            by_variant.setdefault(member["variant"], []).append(member)
    hours = {"training": 0.0, "wall": 0.0}
    for variant, count in runs.items():
        measured = by_variant.get(variant)
        if not measured:
            continue
        for key, field in (("training", "seconds_per_epoch"), ("wall", "wall_seconds_per_epoch")):
            mean = statistics.mean(m[field] for m in measured)
            hours[key] += count * epochs * mean / sweep["members_in_flight"] / 3600
    missing = sorted(v for v in runs if v not in by_variant)
    return {"launcher": sweep["launcher"], "members_in_flight": sweep["members_in_flight"],
            "projected_hours": hours if len(missing) < len(runs) else None, "variants_not_measured": missing}


# -- main ---------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry", action="store_true", help="tiny CPU run of the same code paths (no GPU needed)")
    parser.add_argument("--classes", nargs="+", default=None,
                        help=f"normal classes of the Table-6 slice (default {' '.join(CLASSES)}; dry: {CLASSES[-1]})")
    parser.add_argument("--variants", nargs="+", default=VARIANTS, help="variants of the slice (conf/variant/)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per slice job (default: the paper's budget, conf/budget/paper.yaml)")
    parser.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the slice through hydra/launcher=ensemble (default; --no-ensemble: only separate jobs)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the Table-6 slice (peaks and epochs only)")
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs per setting after a warm-up (default 2, dry 1)")
    parser.add_argument("--images", type=int, default=None, help="time an epoch on this many images, extrapolated (default all; dry 64)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile epochs")
    parser.add_argument("--compile-backend", default=None, help="torch.compile backend (default inductor; dry: eager)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (num_threads)")
    parser.add_argument("--sweep-timeout", type=float, default=None, help="seconds before a slice sweep is stopped (default none)")
    parser.add_argument("--sweep-overrides", nargs="*", default=[], help="extra Hydra overrides of the slice's jobs")
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="where the slice's job folders go (default multirun_outputs/bench_gpu/<date>; dry: a temporary folder)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder of the results JSON")
    args = parser.parse_args(argv)
    args.classes = args.classes or (CLASSES[-1:] if args.dry else CLASSES)
    args.repeats = args.repeats if args.repeats is not None else (1 if args.dry else 2)
    args.images = args.images if args.images is not None else (DRY["images"] if args.dry else None)
    args.compile_backend = args.compile_backend or ("eager" if args.dry else "inductor")
    return args


def run(args) -> dict:
    started = time.perf_counter()
    if not args.dry and not torch.cuda.is_available():
        raise Refusal(NO_CUDA.format(torch=torch.__version__))
    quiet()
    device = torch.device("cuda" if not args.dry else "cpu")
    base = [f"num_threads={args.threads}", "dataset.source.download=false"]
    if not args.dry:
        base.append("trainer=gpu")
    probe = compose_config("linf", base)
    data_root = Path(probe.data_root).resolve()
    real = real_data_available(probe)
    if not real and not args.dry:
        raise Refusal(f"gpu.py: MNIST not found under {data_root} (MNIST/raw/train-images-idx3-ubyte). Copy the "
                      "data set there, or set ARAE_DATA_DIR to the folder that holds MNIST/ (no download is tried).")
    if not real:
        base.append("dataset.source.name=bench_synthetic")
    if args.dry:
        base.append(f"dataset.pgd_steps={DRY['steps']}")
    paper_epochs = int(probe.dataset.paper_epochs)
    date = dt.datetime.now()
    print(f"gpu.py{' --dry' if args.dry else ''} on {device}: peaks", flush=True)
    peak = peaks(device, DRY_PEAK_SIZE if args.dry else PEAK_SIZE)
    epochs = []
    with tempfile.TemporaryDirectory(prefix="arae-gpu-") as root:
        for setting in SETTINGS:
            for compiled in (False, True):
                if compiled and args.no_compile:
                    continue
                epochs.append(time_epoch(setting, compiled, args, base, root, device, peak))
    sweeps, projections, gflop = {}, {}, {}
    runs = table6_runs()
    if args.no_sweep:
        sweeps["basic"] = {"skipped": "--no-sweep"}
    elif not real:
        sweeps["basic"] = {"skipped": f"MNIST not found under {data_root}: the slice needs the real files"}
    else:
        for variant in args.variants:
            cfg = compose_config(variant_attack(variant), [*base, *args.sweep_overrides])
            gflop[variant] = counted_gflop_per_image(cfg, build_datamodule(cfg), device)
        runs_dir = args.runs_dir or (Path(tempfile.mkdtemp(prefix="arae-gpu-runs-")) if args.dry
                                     else REPO / "multirun_outputs" / "bench_gpu" / f"{date:%Y-%m-%d_%H-%M-%S}")
        runs_dir.mkdir(parents=True, exist_ok=True)
        sweeps["basic"] = run_sweep("basic", args, runs_dir, data_root, gflop, peak, None)
        projections["basic"] = projection(sweeps["basic"], runs, paper_epochs)
        if args.ensemble:
            if (REPO / "conf" / "hydra" / "launcher" / "ensemble.yaml").exists():
                sweeps["ensemble"] = run_sweep("ensemble", args, runs_dir, data_root, gflop, peak, "ensemble")
                projections["ensemble"] = projection(sweeps["ensemble"], runs, paper_epochs)
            else:
                sweeps["ensemble"] = {"skipped": "no conf/hydra/launcher/ensemble.yaml in this checkout"}
    payload = {
        "dry": bool(args.dry),
        "date": date.isoformat(timespec="seconds"),
        "machine": machine(device),
        "device": {"name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
                   or platform.machine(), "type": device.type, **peak},
        "data": "mnist" if real else "bench_synthetic",
        "epoch": epochs,
        "slice": {"variants": args.variants, "classes": args.classes,
                  "epochs": DRY["epochs"] if args.dry else (args.epochs or paper_epochs),
                  "gflop_per_image_epoch": gflop},
        "sweeps": sweeps,
        "table6": {"runs": sum(runs.values()), "runs_by_variant": runs, "paper_epochs": paper_epochs,
                   "experiments": TABLE6, "projections": projections},
        "seconds": time.perf_counter() - started,
    }
    path = args.out / f"gpu_{date:%Y-%m-%d_%H-%M-%S}.json"
    write_json_atomic(path, payload)
    print(f"{path}  ({payload['seconds']:.0f} s)")
    return payload


def main(argv=None) -> int:
    try:
        run(parse_args(argv))
    except Refusal as err:
        print(err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
