"""The fast-recipe report: which training settings reach a target AUROC in the least wall time?

`python -m arae.reporting.recipe [DIR ...] --out docs` (run by `make recipe-report`) reads every completed
results.json below the DIRs (default `studies/recipe` and `studies/fidelity`) and writes `recipe.md` into --out. Runs are
grouped by their settings (attack and its cost knobs, model, batch, learning rate, gamma, crafting
schedule, precision); seeds are the replicates. For each group it gives the seconds per epoch, the
last-50 and peak AUROC, and, per seed, the first epoch whose test AUROC reaches the target and the wall
time spent until then (the sum of the run's own per-epoch seconds, training and evaluation included).

The target is the paper's ARAE AUROC of the runs' normal class (MNIST class 8: 92.4) unless --target says
otherwise; --minutes is the wall-time budget a recipe must meet in every seed.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from arae.errors import UserError
from arae.reporting.collect import completed
from arae.reporting.fidelity import LAST_K, _paper, curve, precision_label
from arae.reporting.render import markdown_table
from arae.variants import display_name


@dataclass(frozen=True)
class RecipeRun:
    settings: str
    normal_class: str
    seed: int
    epochs: tuple[int, ...]
    auroc: tuple[float, ...]
    epoch_seconds: tuple[float, ...]

    @property
    def length(self) -> int:
        return self.epochs[-1] if self.epochs else 0

    @property
    def seconds_per_epoch(self) -> float:
        return sum(self.epoch_seconds) / max(1, len(self.epoch_seconds))

    def last_mean(self, k: int = LAST_K) -> float:
        tail = [a for e, a in zip(self.epochs, self.auroc) if e > self.length - k]
        return sum(tail) / len(tail)

    def peak(self) -> tuple[int, float]:
        best = max(range(len(self.auroc)), key=lambda i: self.auroc[i])
        return self.epochs[best], self.auroc[best]

    def best_within(self, seconds: float) -> float:
        """The highest evaluated AUROC of the epochs that ended within `seconds` of wall time."""
        elapsed = list(itertools.accumulate(self.epoch_seconds))
        inside = [a for e, a in zip(self.epochs, self.auroc) if elapsed[min(e, len(elapsed)) - 1] <= seconds]
        return max(inside, default=float("nan"))

    def reached(self, target: float) -> tuple[int, float] | None:
        """(epoch, wall seconds until the end of it) of the first evaluated epoch at or above target."""
        elapsed = list(itertools.accumulate(self.epoch_seconds))
        for epoch, value in zip(self.epochs, self.auroc):
            if value >= target:
                return epoch, elapsed[min(epoch, len(elapsed)) - 1]
        return None


def _attack_settings(attack: dict) -> str:
    """The attack's name with the knobs that set its cost and strength (steps, grid size, members)."""
    adversary = attack.get("adversary") or {}
    members = adversary.get("members")

    def knobs(adv: dict) -> str:
        target = str(adv.get("_target_", ""))
        if target.endswith("GridSpatial"):
            angles = 2 * int(float(adv.get("max_angle", 0)) // float(adv.get("angle_step", 1))) + 1
            return f"{angles * len(adv.get('translations') or [0]) ** 2} transforms"
        if target.endswith("PGD"):
            step = adv.get("step_size")
            return f"{adv.get('steps')} steps" + (f" of {step:g}" if step is not None else "")
        return target.rsplit(".", 1)[-1]

    name = str(attack.get("name", "?"))
    if members:
        inner = ", ".join(f"{k} {knobs(v)}" for k, v in members.items())
        return f"{name} ({adversary.get('mode', 'worst')}: {inner})"
    if adversary:
        return f"{name} ({knobs(adversary)})"
    return name


def settings_of(results: dict) -> str:
    """A one-line label of the settings a recipe varies (the paper's values are left out where implied)."""
    config = results.get("config") or {}
    attack = config.get("attack") or {}
    model = config.get("model") or {}
    crafting = config.get("crafting") or {}
    trainer = config.get("trainer") or {}
    method = display_name(results)
    attacked = method not in ("AE", "DAE")
    parts = [method, _attack_settings(attack) if attacked else ""]
    if attacked:
        parts.append("per-batch" if str(crafting.get("_target_", "")).endswith("BatchCrafting") else "per-epoch")
        gamma = attack.get("gamma")
        parts.append(f"γ {gamma:g}" if gamma is not None else "")
    activation = model.get("activation", "sigmoid")
    parts.append("sigmoid MLP" if activation == "sigmoid" else f"{activation} MLP, {model.get('output_activation')} output")
    parts.append(f"batch {(config.get('dataset') or {}).get('batch_size')}")
    parts.append(f"lr {(config.get('optimizer') or {}).get('lr', 1e-3):g}")
    parts.append(precision_label(crafting.get("autocast") if attacked else None,
                                 str(trainer.get("precision") or "32-true")) or "float32")
    return ", ".join(p for p in parts if p)


def load(*roots: Path) -> list[RecipeRun]:
    runs = []
    for job in completed(*roots):
        epochs, auroc = curve(job.results)
        seconds = tuple(float(s) for s in job.results.get("epoch_seconds") or ())
        if not auroc or not seconds:
            continue
        classes = job.results.get("normal_classes") or []
        runs.append(RecipeRun(settings_of(job.results), "_".join(str(c) for c in classes),
                              int(job.results.get("seed", 0)), epochs, auroc, seconds))
    return runs


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _target_of(normal_class: str, target: float | None) -> float:
    if target is not None:
        return target
    paper = _paper("ARAE", normal_class)
    if paper is None:
        raise UserError(f"the paper has no ARAE value for normal class {normal_class}: pass --target")
    return paper


def write_report(runs: Sequence[RecipeRun], out: Path, sources: Sequence[Path], target: float | None, minutes: float) -> Path:
    if not runs:
        raise UserError(f"no completed run with per-epoch AUROC and timings below {', '.join(map(str, sources))}: train a recipe "
                        "into it first (docs/recipe.md says how)")
    groups: dict[tuple[str, str], list[RecipeRun]] = {}
    for run in sorted(runs, key=lambda r: (r.normal_class, r.settings, r.seed, -r.length)):
        seeds = groups.setdefault((run.normal_class, run.settings), [])
        if run.seed not in {r.seed for r in seeds}:
            seeds.append(run)
    rows, winners = [], []
    for (normal_class, settings), seeds in groups.items():
        goal = _target_of(normal_class, target)
        hits = [r.reached(goal) for r in seeds]
        times = [h[1] for h in hits if h is not None]
        met = len(times) == len(seeds) and max(times) <= 60 * minutes
        if met:
            winners.append((max(times), normal_class, settings, len(seeds)))
        rows.append([
            normal_class, settings, str(len(seeds)), str(max(r.length for r in seeds)),
            f"{sum(r.seconds_per_epoch for r in seeds) / len(seeds):.1f}",
            " / ".join(_pct(r.last_mean()) for r in seeds),
            " / ".join(f"{_pct(r.peak()[1])} (ep. {r.peak()[0]})" for r in seeds),
            " / ".join(_pct(r.best_within(60 * minutes)) for r in seeds),
            _pct(goal),
            " / ".join("–" if h is None else f"ep. {h[0]}, {h[1] / 60:.0f} min" for h in hits),
        ])
    header = ["class", "settings", "seeds", "epochs", "s/epoch", f"last-{LAST_K} AUROC per seed",
              "peak AUROC per seed",
              f"best AUROC within {minutes:g} min", "target", "target reached (per seed)"]
    if winners:
        best = min(winners)
        verdict = (f"Fastest setting that reaches the target in every seed within {minutes:g} minutes: class "
                   f"{best[1]}, {best[2]} ({best[3]} seeds, the slowest seed after {best[0] / 60:.0f} min).")
    else:
        verdict = (f"No setting reached the target in every seed within {minutes:g} minutes of wall time "
                   f"({len(runs)} runs, {len(groups)} settings).")
    lines = [
        "# Fast recipe: time to the paper's AUROC",
        "",
        f"Generated by `python -m arae.reporting.recipe` from the results.json of {len(runs)} completed runs "
        f"below {', '.join(f'`{s}`' for s in sources)}. MNIST, protocol 2. AUROC in % on the test split, evaluated every epoch; "
        "wall time is the sum of the run's own per-epoch seconds (training and evaluation, one thread on this "
        "machine unless the run says otherwise). The target is the paper's ARAE AUROC of the class "
        "unless stated.",
        "",
        "## Verdict",
        "",
        verdict,
        "",
        "## Runs",
        "",
        *markdown_table(header, rows),
        "",
        "A setting is added by training it into `studies/recipe` (docs/reproduce.md, \"The fast-recipe "
        "search\") and rebuilding this page with `make recipe-report`.",
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "recipe.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m arae.reporting.recipe", description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", type=Path, nargs="*", default=[Path("studies/recipe"), Path("studies/fidelity")],
                   help="folders of runs, searched recursively for results.json (default: studies/recipe and "
                        "studies/fidelity)")
    p.add_argument("--out", type=Path, default=Path("docs"), help="where recipe.md goes")
    p.add_argument("--target", type=float, default=None,
                   help="AUROC to reach, as a fraction (default: the paper's ARAE value of the runs' class)")
    p.add_argument("--minutes", type=float, default=60.0, help="wall-time budget per run (default 60)")
    args = p.parse_args(argv)
    try:
        for folder in args.dirs:
            if not folder.is_dir():
                raise UserError(f"{folder} is not a folder: give folders of runs, e.g. studies/recipe")
        if args.target is not None and not 0.0 < args.target <= 1.0:
            raise UserError(f"--target is an AUROC fraction in (0, 1], got {args.target}: e.g. --target 0.924")
        path = write_report(load(*args.dirs), args.out, args.dirs, args.target, args.minutes)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
