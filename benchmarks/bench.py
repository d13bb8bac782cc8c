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
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import flop_registry  # noqa: E402

from arae.attacks import PGD, LatentDistance, LinfBall, NoAttack, default_stream  # noqa: E402
from arae.config import register_resolvers  # noqa: E402
from arae.data.registry import register_source  # noqa: E402
from arae.pipeline import build_module, set_threads  # noqa: E402
from arae.results import write_json_atomic  # noqa: E402
from arae.scoring import anomaly_metrics  # noqa: E402
from arae.training import EpochTimer  # noqa: E402
from arae.training.crafting import cpu_has_fast_bf16  # noqa: E402
from arae.training.monitor import EvaluationSchedule, evaluate  # noqa: E402

RESULTS_DIR = REPO / "benchmarks" / "results"
MATMUL_SIZE = 2048  # side of the square matmul whose throughput sets the floor
BENCH_OVERRIDES = ["logger=none", "callbacks.checkpoint=null", "trainer.enable_progress_bar=false"]
FIRST = {"none": 0, "noise": 1, "linf": 2, "spatial": 3, "union": 4}  # the rows, then the rest by name
# Precision settings of a row: conf/precision presets (float32 = no preset, the default arithmetic).
PRECISIONS = {"float32": [], "fast": ["precision=fast"]}
FAST_ATTACKS = ["none", "noise", "linf"]  # the rows also measured with precision=fast by default
BF16_SKIPPED = ("bf16 rows skipped: this CPU has no native bfloat16 matmuls (cpu_has_fast_bf16() is false; "
                "AVX-512 BF16 or AMX needed), where they run many times slower than float32")
NO_ATTACK = {"name": "none", "gamma": 0.0, "adversary": {"_target_": "arae.attacks.NoAttack"}}


@register_source("bench_synthetic")
class SyntheticMnist:
    """MNIST-shaped random images (used only when the real MNIST files are absent): 6000 training images
    of class 8 among 60000, 10000 test images. Timing does not depend on pixel values."""

    image_shape = (1, 28, 28)
    num_classes = 10

    def __init__(self, **_ignored) -> None:
        self.generator = torch.Generator().manual_seed(0)

    def split(self, train: bool):
        n = 60000 if train else 10000
        labels = torch.randint(0, 10, (n,), generator=self.generator)
        if train:
            labels[:6000], labels[6000:][labels[6000:] == 8] = 8, 0
        return torch.randint(0, 256, (n, 1, 28, 28), generator=self.generator, dtype=torch.uint8), labels


# -- configs ------------------------------------------------------------------------------------------
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


# -- timing helpers -----------------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def bf16_available(device: torch.device) -> bool:
    """Whether bfloat16 matmuls are native here (GPUs: compute capability 8.0 or newer)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_fast_bf16()


def matmul_gflops(device: torch.device, n: int | None = None, reps: int = 3, dtype: torch.dtype = torch.float32,
                  matmul_precision: str = "highest") -> float:
    """Measured matmul throughput (GFLOP/s) of a large square product in `dtype`; for float32 at
    `matmul_precision` ("highest" = exact float32 whatever the run uses, the practical peak for the exact
    arithmetic; "high" = TF32 on GPUs)."""
    n = n or MATMUL_SIZE
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    configured = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(matmul_precision)
    try:
        a @ b
        seconds = statistics.median(timed(lambda: a @ b, device) for _ in range(reps))
    finally:
        torch.set_float32_matmul_precision(configured)
    return 2 * n**3 / seconds / 1e9


# -- the hand-written loop ----------------------------------------------------------------------------
def hand_linf_pgd(net, x, eps: float, steps: int, step_size: float) -> torch.Tensor:
    """L-inf PGD on the latent distance, written out: random start, sign steps, one clamp onto the box
    (the ball intersected with [0, 1]) per step, in place."""
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        reference = net.encode(x)
    low, high = (x - eps).clamp_(min=0.0), (x + eps).clamp_(max=1.0)
    x_adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp_(low, high)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        value = (net.encode(x_adv) - reference).pow(2).flatten(1).mean(1).sum()
        (grad,) = torch.autograd.grad(value, x_adv)
        x_adv = x_adv.detach().add_(grad.sign_().mul_(step_size)).clamp_(low, high)
    for p in net.parameters():
        p.requires_grad_(True)
    return x_adv


def hand_attack(attack):
    """A hand-written equivalent of the configured attack where there is one (none, L-inf PGD on the
    latent distance); otherwise the project's own attack object (framework-free plain PyTorch), called as
    `attack(net, x)` with torch's default generator, as the hand-written ones draw."""
    if isinstance(attack, NoAttack):
        return (lambda net, x: x), "hand-written"
    if (
        type(attack) is PGD
        and type(attack.ball) is LinfBall
        and type(attack.objective) is LatentDistance
        and attack.random_start
    ):
        return (lambda net, x: hand_linf_pgd(net, x, attack.ball.eps, attack.steps, attack.step_size)), "hand-written"
    return (lambda net, x: attack(net, x, default_stream(x.device))), "attack object"


def autocast_attack(attack, device: torch.device, dtype: str):
    def run(net, x):
        with torch.autocast(device_type=device.type, dtype=getattr(torch, dtype)):
            return attack(net, x).to(x.dtype)

    return run


def hand_epoch(net, optimizer, images, attack, gamma: float, batch_size: int, chunk: int,
               train_dtype: torch.dtype | None = None) -> None:
    """One epoch of the paper's schedule: attack the whole set, then Adam steps over shuffled batches.
    An attack may return k examples per image (k blocks); the clean batch is then repeated k times.
    `train_dtype` (bfloat16 for bf16-mixed) runs the training step's forward under autocast."""
    from contextlib import nullcontext

    blocks = []
    for c in images.split(chunk):
        out = attack(net, c).detach()
        blocks.append(out.view(-1, *c.shape))
    adversarial = torch.cat(blocks, dim=1)
    k = adversarial.shape[0]
    for index in torch.randperm(len(images), device=images.device).split(batch_size):
        x, x_adv = images[index], adversarial[:, index].flatten(0, 1)
        cast = nullcontext() if train_dtype is None else torch.autocast(images.device.type, dtype=train_dtype)
        with cast:
            z_adv = net.encode(x_adv)
            loss = (x.repeat(k, 1, 1, 1) - net.decode(z_adv)).float().pow(2).flatten(1).mean(1).mean()
            if gamma:
                loss = loss + gamma * (z_adv - net.encode(x).repeat(k, 1)).float().pow(2).flatten(1).mean(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def hand_eval(net, images, labels, batch_size: int) -> dict:
    with torch.no_grad():
        scores = torch.cat([(x - net(x)).pow(2).flatten(1).sum(1) for x in images.split(batch_size)])
    return anomaly_metrics(scores, labels)


# -- the framework ------------------------------------------------------------------------------------
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
    loader = datamodule.val_dataloader()
    return timed(lambda: evaluate(module.net, loader), device)


# -- one row ------------------------------------------------------------------------------------------
class MatmulFlops(TorchDispatchMode):
    """Counts the FLOPs of matmul-class ops (PyTorch's flop formulas, forward and backward). Unlike
    FlopCounterMode it installs no module hooks, which autograd.grad on a leaf input does not support."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def epoch_flops(net, optimizer_factory, images, attack, gamma, batch_size, chunk, sample: int = 64,
                train_dtype: torch.dtype | None = None) -> float:
    """Counted FLOPs (matmul-class ops, forward and backward) of one epoch over `images`, scaled up
    from an epoch over `sample` of them (the cost is linear in the number of images)."""
    net = copy.deepcopy(net)
    sub = images[:sample]
    with MatmulFlops() as counter:
        hand_epoch(net, optimizer_factory(net.parameters()), sub, attack, gamma, min(batch_size, sample),
                   min(chunk, sample), train_dtype)
    return counter.total * len(images) / len(sub)


def subset_size(n: int, seconds: float, max_seconds: float, batch_size: int) -> int:
    """How many of `n` images to time so that an epoch takes about `max_seconds` (all if it already does)."""
    return n if seconds <= max_seconds else min(n, max(batch_size, int(n * max_seconds / seconds)))


def train_dtype(cfg: DictConfig) -> torch.dtype | None:
    """The autocast dtype of the training step under the configured trainer.precision (None: float32)."""
    precision = str(cfg.trainer.get("precision") or "32")
    return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)


def throughputs(device: torch.device, bf16: bool) -> tuple[float, float | None]:
    return matmul_gflops(device), matmul_gflops(device, dtype=torch.bfloat16) if bf16 else None


def bench_attack(name: str, args, root: str, device: torch.device, precision: str = "float32") -> dict:
    cfg = compose_config(name, args.overrides, precision)
    torch.set_float32_matmul_precision(cfg.matmul_precision)  # as train.py does; the hand loop shares it
    set_threads(cfg.num_threads)
    source = instantiate(cfg.dataset.source)
    datamodule = instantiate(cfg.protocol, source=source, normal_class=cfg.normal_class, seed=cfg.seed)
    datamodule.setup("fit")
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
    source = instantiate(cfg.dataset.source)
    datamodule = instantiate(cfg.protocol, source=source, normal_class=cfg.normal_class, seed=cfg.seed)
    datamodule.setup("fit")
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


# -- report -------------------------------------------------------------------------------------------
def _cell(value, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def table(rows: list[dict], evaluation: dict | None, skipped: str | None = None) -> str:
    head = (f"{'attack':<13}{'precision':<10}{'framework s':>12}{'hand s':>10}{'floor s':>10}{'bf16 floor s':>13}"
            f"{'fw/hand':>9}{'fw/floor':>10}{'hand/floor':>11}{'best fw/hand':>14}{'best fw/floor':>15}"
            f"{'whole s':>10}{'whole/train':>12}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        note = f"hand loop: {r['hand_attack']}"
        if r["precision"] == "fast":
            note += f"; fw/own floor {r['framework_over_own_floor']:.2f}"
        if r["extrapolated"]:
            note += f"; timed on {r['timed_images']} of {r['images']} images, extrapolated"
        lines.append(
            f"{r['attack']:<13}{r['precision']:<10}{r['framework_s']:>12.3f}{r['hand_s']:>10.3f}{r['floor_s']:>10.3f}"
            f"{_cell(r['floor_bf16_s'], 13, 3)}"
            f"{r['framework_over_hand']:>9.2f}{r['framework_over_floor']:>10.2f}{r['hand_over_floor']:>11.2f}"
            f"{r['framework_over_hand_best']:>14.2f}{r['framework_over_floor_best']:>15.2f}"
            f"{_cell(r.get('whole_s'), 10, 3)}{_cell(r.get('whole_over_train'), 12, 3)}  {note}"
        )
    if evaluation:
        lines.append(
            f"{'eval':<13}{'float32':<10}{evaluation['framework_s']:>12.3f}{evaluation['hand_s']:>10.3f}{'-':>10}{'-':>13}"
            f"{evaluation['framework_s'] / evaluation['hand_s']:>9.2f}{'-':>10}{'-':>11}"
            f"{min(evaluation['framework_repeats_s'][1:]) / min(evaluation['hand_repeats_s'][1:]):>14.2f}{'-':>15}"
            f"{'-':>10}{'-':>12}  one pass over {evaluation['images']} test images, batch {evaluation['eval_batch_size']}"
        )
    if skipped:
        lines.append(f"note: {skipped}")
    return "\n".join(lines)


def machine(device: torch.device) -> dict:
    info = {
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def quiet() -> None:
    """No Lightning banners or known warnings between the timing lines."""
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("WANDB_MODE", "disabled")


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
