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
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from arae.errors import UserError
from arae.reporting.collect import completed
from arae.reporting.render import markdown_table
from arae.reporting.runs import LAST_K, Run, distinct, to_run
from arae.reporting.series import paper_value, precision_label
from arae.results import settings_of


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


def recipe_label(results: dict) -> str:
    """A one-line label of the settings a recipe varies: the recorded settings, with the attack's cost knobs
    read from the recorded config (the paper's values are left out where implied)."""
    settings = settings_of(results)
    attack = (results.get("config") or {}).get("attack") or {}
    parts = [str(settings["variant"])]
    if settings["adversarial"]:
        parts.append(_attack_settings(attack))
        parts.append("per-batch" if settings["crafting"] == "batch" else "per-epoch")
        parts.append(f"γ {settings['gamma']:g}" if settings.get("gamma") is not None else "")
    activation = settings.get("activation") or "sigmoid"
    parts.append("sigmoid MLP" if activation == "sigmoid" else f"{activation} MLP, {settings.get('output_activation')} output")
    parts.append(f"batch {settings.get('batch_size')}")
    parts.append(f"lr {settings.get('lr') if settings.get('lr') is not None else 1e-3:g}")
    parts.append(precision_label(settings.get("attack_precision"), settings.get("training_precision")) or "float32")
    return ", ".join(p for p in parts if p)


def load(*roots: Path) -> list[Run]:
    """The runs with per-epoch AUROC and timings, each labelled by its recipe (`settings["recipe"]`)."""
    runs = []
    for job in completed(*roots):
        run = to_run(job.results, job.folder)
        if run is None or not run.epoch_seconds:
            continue
        runs.append(replace(run, settings={**run.settings, "recipe": recipe_label(job.results)}))
    return runs


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _target_of(normal_class: str, target: float | None) -> float:
    if target is not None:
        return target
    paper = paper_value("ARAE", normal_class)
    if paper is None:
        raise UserError(f"the paper has no ARAE value for normal class {normal_class}: pass --target")
    return paper


def write_report(runs: Sequence[Run], out: Path, sources: Sequence[Path], target: float | None, minutes: float) -> Path:
    if not runs:
        raise UserError(f"no completed run with per-epoch AUROC and timings below {', '.join(map(str, sources))}: train a recipe "
                        "into it first (docs/recipe.md says how)")
    # One row per setting and budget: a run that a longer one of the same setting and seed extends is
    # superseded; runs of different lengths never share a row.
    kept, _ = distinct(runs, lambda r: r.settings["recipe"])
    groups: dict[tuple[str, str, int], list[Run]] = {}
    for run in sorted(kept, key=lambda r: (r.normal_class, r.settings["recipe"], -r.length, r.seed)):
        groups.setdefault((run.normal_class, run.settings["recipe"], run.length), []).append(run)
    rows, winners = [], []
    for (normal_class, settings, length), seeds in groups.items():
        goal = _target_of(normal_class, target)
        hits = [r.reached(goal) for r in seeds]
        times = [h[1] for h in hits if h is not None]
        met = len(times) == len(seeds) and max(times) <= 60 * minutes
        if met:
            winners.append((max(times), normal_class, settings, len(seeds)))
        rows.append([
            normal_class, settings, str(len(seeds)), str(length),
            f"{sum(r.seconds_per_epoch for r in seeds) / len(seeds):.1f}",
            " / ".join(_pct(r.last_mean(k=LAST_K)) for r in seeds),
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
