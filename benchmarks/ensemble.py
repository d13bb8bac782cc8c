"""Seconds per epoch per detector: K separate jobs against one ensemble of K members (hydra/launcher=ensemble),
both through train.py as a user runs them, on MNIST (ARAE_DATA_DIR). Members are one normal class with K seeds, so every member has the same number of batches
and the figure is the stacking's own gain (members of different sizes also pay for padding).

    python benchmarks/ensemble.py                       # K = 10, DAE and ARAE (10-step PGD, per batch)
    python benchmarks/ensemble.py --members 4 --epochs 3 --overrides precision=fast

A separate job stands for each of the K (they are the same work); its seconds are the training seconds
per epoch (attack and steps) from results.json, as are each member's, which are the ensemble's round
seconds divided by K. The first epoch is a warm-up and is not counted. One separate job and one ensemble
are run `--repeats` times, alternately, so that a slow spell of the machine falls on both; the figures are
medians over all repeats, and each repeat's own ratio is recorded beside them (their spread is the
measurement's noise). Writes benchmarks/results/ensemble_<date_time>.json and prints a table.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
SERIES = {
    "DAE": ["variant=dae", "crafting=batch"],
    "ARAE (10 steps, per batch)": ["variant=arae", "crafting=batch", "dataset.pgd_steps=10"],
}
COMMON = ["logger=none", "callbacks.checkpoint=null", "trainer.enable_progress_bar=false", "skip_completed=false"]


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: train.py {' '.join(args)} failed:\n{proc.stderr[-2000:]}")


def _epoch_seconds(folder: Path) -> list[list[float]]:
    runs = [json.loads(p.read_text()) for p in sorted(folder.rglob("results.json"))]
    return [r["epoch_seconds"][1:] or r["epoch_seconds"] for r in runs]


def _wall_per_epoch(folder: Path) -> float:
    runs = [json.loads(p.read_text()) for p in folder.rglob("results.json")]
    return max(r["wall_seconds"] for r in runs) / max(r["epochs"] for r in runs)


def measure(series: list[str], members: int, epochs: int, threads: int, extra: list[str], work: Path,
            repeats: int) -> dict:
    common = [*COMMON, *series, *extra, f"trainer.max_epochs={epochs}", f"num_threads={threads}",
              f"eval_every_n_epochs={epochs}", "normal_class=8"]
    seeds = ",".join(str(s) for s in range(members))
    ones, per_members, ratios, walls = [], [], [], []
    for r in range(repeats):
        separate, together = work / f"separate{r}", work / f"together{r}"
        _run([*common, "seed=0", f"hydra.run.dir={separate}"], work)
        _run(["-m", *common, f"seed={seeds}", "hydra/launcher=ensemble", f"hydra.launcher.max_members={members}",
              f"hydra.sweep.dir={together}"], work)
        one = _epoch_seconds(separate)[0]
        per_member = [s for run in _epoch_seconds(together) for s in run]
        ones += one
        per_members += per_member
        ratios.append(statistics.median(one) / statistics.median(per_member))
        walls.append((_wall_per_epoch(separate), _wall_per_epoch(together) / members))
    one, per_member = statistics.median(ones), statistics.median(per_members)
    return {
        "separate_s_per_epoch": one,
        "ensemble_s_per_epoch_per_member": per_member,
        "speedup_per_member": one / per_member,
        "speedup_per_member_each_repeat": ratios,
        "separate_wall_s_per_epoch": statistics.median(w[0] for w in walls),
        "ensemble_wall_s_per_epoch_per_member": statistics.median(w[1] for w in walls),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is not counted)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each process")
    parser.add_argument("--repeats", type=int, default=3, help="separate job and ensemble, alternately, this often")
    parser.add_argument("--overrides", nargs="*", default=[], help="Hydra overrides for every run")
    parser.add_argument("--series", nargs="*", default=list(SERIES), choices=list(SERIES))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.members < 1 or args.epochs < 2 or args.repeats < 1:
        sys.exit("error: --members and --repeats must be >= 1 and --epochs >= 2 (the first epoch is a warm-up)")
    data = Path(os.environ.get("ARAE_DATA_DIR", "./data"))
    extra = list(args.overrides)
    if not (data / "MNIST").exists():
        sys.exit(f"error: no MNIST under {data}: set ARAE_DATA_DIR to the folder that holds MNIST/")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.series:
            work = Path(tmp) / str(len(rows))
            work.mkdir()
            rows[name] = measure(SERIES[name], args.members, args.epochs, args.threads, extra, work, args.repeats)
            r = rows[name]
            print(f"{name}: separate {r['separate_s_per_epoch']:.2f} s/epoch, ensemble of {args.members} "
                  f"{r['ensemble_s_per_epoch_per_member']:.2f} s/epoch per member -> {r['speedup_per_member']:.2f}x "
                  f"(each repeat: {', '.join(f'{x:.2f}x' for x in r['speedup_per_member_each_repeat'])})",
                  flush=True)
    load = os.getloadavg()
    record = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "load_average_after": load},
        "members": args.members, "epochs": args.epochs, "threads": args.threads, "repeats": args.repeats,
        "overrides": extra,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"ensemble_{dt.datetime.now():%Y-%m-%d_%H-%M-%S}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"load average {load[0]:.2f}; wrote {path}")


if __name__ == "__main__":
    main()
