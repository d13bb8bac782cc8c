"""The fidelity study's report: does ARAE beat DAE on MNIST, over seeds, at the budget that was run?

`python -m arae.reporting.fidelity STUDY_DIR --out docs` (run by `make fidelity`) reads every completed
results.json below STUDY_DIR and writes `fidelity.md` and the figures `fidelity/*.png` into --out. Runs are
grouped into series by the settings that the study varies (method, crafting schedule, PGD steps, attack
precision, model); seeds are the replicates. Every number in the report is computed from the per-epoch
AUROC histories; a budget B below a run's length is read off its first B epochs, which is the same run
as one stopped at B (nothing in training depends on the number of epochs to come).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from arae.errors import UserError
from arae.reporting.collect import Job, completed
from arae.reporting.paper import as_classes, paper_table
from arae.reporting.render import markdown_table
from arae.stats import mean_std
from arae.variants import display_name

# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)
# The factors a series is labelled by, beside its method; comparisons pair series that differ in one.
FACTORS = ("schedule", "steps", "precision", "model", "batch", "lr")
# Factors of the training recipe that the DAE baseline of an ARAE series must share (the others are the attack's).
RECIPE_FACTORS = ("model", "batch", "lr")
LAST_K = 50


@dataclass(frozen=True)
class Estimate:
    """Mean over seeds and the half-width of its 95 % confidence interval (None for one seed)."""

    mean: float
    half: float | None
    n: int

    def text(self, scale: float = 100.0, signed: bool = False) -> str:
        sign = "+" if signed else ""
        mean = f"{self.mean * scale:{sign}.1f}"
        return mean if self.half is None else f"{mean} ± {self.half * scale:.1f}"

    @property
    def low(self) -> float | None:
        return None if self.half is None else self.mean - self.half

    @property
    def high(self) -> float | None:
        return None if self.half is None else self.mean + self.half


def estimate(values: Sequence[float]) -> Estimate | None:
    """Mean and 95 % CI half-width (t distribution, sample std) of independent replicates."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    if len(values) == 1:
        return Estimate(values[0], None, 1)
    df = len(values) - 1
    t = T975[df - 1] if df <= len(T975) else 1.96
    mean, std = mean_std(values)  # sample std, the project's one convention (arae/stats.py)
    return Estimate(mean, t * std / math.sqrt(len(values)), len(values))


@dataclass(frozen=True)
class Run:
    """One completed job: its series' labels, seed and AUROC curve (epochs counted from 1)."""

    method: str
    factors: tuple[tuple[str, str], ...]
    normal_class: str
    seed: int
    epochs: tuple[int, ...]
    auroc: tuple[float, ...]
    seconds_per_epoch: float | None

    @property
    def series(self) -> str:
        details = ", ".join(v for _, v in self.factors if v)
        return f"{self.method} ({details})" if details else self.method

    @property
    def recipe(self) -> tuple[tuple[str, str], ...]:
        return tuple(f for f in self.factors if f[0] in RECIPE_FACTORS)

    @property
    def length(self) -> int:
        return self.epochs[-1] if self.epochs else 0

    def last_mean(self, budget: int, k: int = LAST_K) -> float | None:
        """Mean AUROC of the evaluations in the last k epochs of a run stopped at `budget`."""
        if budget > self.length:
            return None
        window = [a for e, a in zip(self.epochs, self.auroc) if budget - k < e <= budget]
        return statistics.fmean(window) if window else None

    def at(self, budget: int) -> float | None:
        """AUROC of the last evaluation at or before `budget` (None if the run is shorter)."""
        if budget > self.length:
            return None
        values = [a for e, a in zip(self.epochs, self.auroc) if e <= budget]
        return values[-1] if values else None

    def peak(self, budget: int | None = None) -> tuple[int, float]:
        pairs = [(a, e) for e, a in zip(self.epochs, self.auroc) if budget is None or e <= budget]
        auroc, epoch = max(pairs)
        return epoch, auroc


def curve(results: dict) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The per-epoch AUROC of a results.json as (epochs, values): `val_auroc_epochs` says which epochs
    were evaluated where an evaluation cadence skipped some; without it, every epoch was."""
    values = tuple(float(v) for v in results.get("val_auroc_history") or ())
    epochs = results.get("val_auroc_epochs") or range(1, len(values) + 1)
    return tuple(int(e) for e in epochs), values


def factors(config: dict, method: str) -> tuple[tuple[str, str], ...]:
    """The study's factors of a run, each as (name, label); a label is empty where it is the paper's."""
    crafting = str((config.get("crafting") or {}).get("_target_", ""))
    adversary = (config.get("attack") or {}).get("adversary") or {}
    model = config.get("model") or {}
    attacked = method not in ("AE", "DAE")
    schedule = "per-batch" if crafting.endswith("BatchCrafting") else "per-epoch"
    steps = adversary.get("steps")
    autocast = (config.get("crafting") or {}).get("autocast")
    training = str((config.get("trainer") or {}).get("precision") or "32-true")
    activation = model.get("activation", "sigmoid")
    batch = (config.get("dataset") or {}).get("batch_size")
    lr = (config.get("optimizer") or {}).get("lr")
    labels = {
        "schedule": schedule if attacked else "",
        "steps": f"{steps} steps" if attacked and steps is not None else "",
        "precision": precision_label(autocast if attacked else None, training),
        "model": "" if activation == "sigmoid" else f"{activation} MLP, {model.get('output_activation')} output",
        "batch": "" if batch in (None, 256) else f"batch {batch}",
        "lr": "" if lr in (None, 1e-3) else f"lr {lr:g}",
    }
    return tuple((name, labels[name]) for name in FACTORS)


def precision_label(autocast: str | None, training: str) -> str:
    """"bfloat16 attack", "bfloat16 attack, bf16-mixed training", ...; empty for float32 throughout."""
    parts = [f"{autocast} attack"] if autocast else []
    if training not in ("32", "32-true"):
        parts.append(f"{training} training")
    return ", ".join(parts)


def to_run(job: Job) -> Run | None:
    results = job.results
    classes = results.get("normal_classes") or []
    epochs, auroc = curve(results)
    if not auroc:
        return None
    method = display_name(results)
    return Run(
        method=method,
        factors=factors(results.get("config") or {}, method),
        normal_class="_".join(str(c) for c in classes),
        seed=int(results.get("seed", 0)),
        epochs=epochs,
        auroc=auroc,
        seconds_per_epoch=results.get("seconds_per_epoch"),
    )


def load_runs(root: Path) -> list[Run]:
    runs = [to_run(job) for job in completed(root)]
    return [r for r in runs if r is not None]


# -- the study's quantities -----------------------------------------------------------------------------


def series_of(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    """Runs by (normal class, series), each list ordered by seed, one run per seed.

    A seed run twice in one series (a 250-epoch job and its 350-epoch extension) is one replicate: the
    longest run stands for it, and shorter budgets are read off its curve."""
    longest: dict[tuple[str, str, int], Run] = {}
    for run in runs:
        key = (run.normal_class, run.series, run.seed)
        if key not in longest or run.length > longest[key].length:
            longest[key] = run
    grouped: dict[tuple[str, str], list[Run]] = {}
    for run in sorted(longest.values(), key=lambda r: (_class_key(r.normal_class), r.series, r.seed)):
        grouped.setdefault((run.normal_class, run.series), []).append(run)
    return grouped


def _class_key(label: str) -> tuple[int, ...]:
    return tuple(int(c) for c in label.split("_") if c.isdigit())


def common_budget(runs: Sequence[Run]) -> int:
    return min(r.length for r in runs)


def paired(a: Sequence[Run], b: Sequence[Run], value) -> tuple[Estimate | None, int]:
    """Estimate of value(a) - value(b) over the seeds both have (a paired comparison)."""
    by_seed = {r.seed: r for r in b}
    diffs = []
    for run in a:
        other = by_seed.get(run.seed)
        if other is None:
            continue
        x, y = value(run), value(other)
        if x is not None and y is not None:
            diffs.append(x - y)
    return estimate(diffs), len(diffs)


def budgets_of(length: int) -> list[int]:
    """The budgets at which the gap is tabled: 50, 100, 200, then every 100 up to `length`, and `length`."""
    marks = [b for b in (50, 100, 200) if b <= length]
    marks += list(range(300, length + 1, 100))
    if length not in marks:
        marks.append(length)
    return sorted(set(marks))


def one_factor_apart(a: Run, b: Run) -> str | None:
    """The one factor in which two series of the same method differ, else None."""
    if a.method != b.method:
        return None
    differ = [name for (name, x), (_, y) in zip(a.factors, b.factors) if x != y]
    return differ[0] if len(differ) == 1 else None


@dataclass(frozen=True)
class Verdict:
    normal_class: str
    series: str
    budget: int
    diff: Estimate | None
    paper_diff: float | None

    @property
    def outcome(self) -> str:
        d = self.diff
        if d is None:
            return "no paired seeds"
        if d.half is None:
            return f"ARAE {'ahead' if d.mean > 0 else 'behind'} on one seed only (no interval)"
        if d.low > 0:
            return "ARAE ahead (the 95 % CI excludes 0)"
        if d.high < 0:
            return "DAE ahead (the 95 % CI excludes 0)"
        return "no difference resolved (the 95 % CI contains 0)"

    @property
    def holds(self) -> bool | None:
        """Whether the paper's ordering (ARAE above DAE) is confirmed at this budget."""
        if self.diff is None or self.diff.half is None:
            return None
        return self.diff.low > 0


# -- rendering --------------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [*markdown_table(header, rows), ""]


def _paper(method: str, normal_class: str) -> float | None:
    """The paper's Table 6 value (a fraction) of a method for one normal class, if it has one."""
    try:
        classes = as_classes([int(c) for c in normal_class.split("_")])
    except ValueError:
        return None
    for part in paper_table("table6").parts:
        value = part.value(method, classes)
        if value is not None:
            return value / 100.0
    return None


def _fmt(value: float | None, scale: float = 100.0) -> str:
    return "–" if value is None else f"{value * scale:.1f}"


def main_table(grouped: dict[tuple[str, str], list[Run]]) -> list[str]:
    rows = []
    for (normal_class, series), runs in grouped.items():
        budget = common_budget(runs)
        last = estimate([r.last_mean(budget) for r in runs])
        final = estimate([r.at(budget) for r in runs])
        peaks = [r.peak(budget) for r in runs]
        peak = estimate([p[1] for p in peaks])
        spe = estimate([r.seconds_per_epoch for r in runs if r.seconds_per_epoch])
        rows.append([
            normal_class, series, str(len(runs)), str(budget),
            last.text() if last else "–", final.text() if final else "–",
            f"{peak.text()} (ep. {', '.join(str(p[0]) for p in peaks)})" if peak else "–",
            _fmt(_paper(runs[0].method, normal_class)),
            f"{spe.mean:.1f}" if spe else "–",
        ])
    return _table(["class", "series", "seeds", "epochs", f"last-{LAST_K} AUROC", "final AUROC",
                   "peak AUROC (epoch per seed)", "paper", "s/epoch"], rows)


def gap_rows(grouped: dict[tuple[str, str], list[Run]]) -> tuple[list[str], list[str], list[Verdict]]:
    """The paired ARAE - DAE table at each series' own budget, the gap-versus-budget table, verdicts."""
    main, by_budget, verdicts = [], [], []
    for (normal_class, series), runs in grouped.items():
        if runs[0].method == "DAE":
            continue
        baseline = next((other for (c, _), other in grouped.items()
                         if c == normal_class and other[0].method == "DAE" and other[0].recipe == runs[0].recipe), None)
        if not baseline:
            continue
        budget = min(common_budget(runs), common_budget(baseline))
        paper_a, paper_d = _paper(runs[0].method, normal_class), _paper("DAE", normal_class)
        paper_diff = None if paper_a is None or paper_d is None else paper_a - paper_d
        diff_last, n = paired(runs, baseline, lambda r, budget=budget: r.last_mean(budget))
        diff_final, _ = paired(runs, baseline, lambda r, budget=budget: r.at(budget))
        verdict = Verdict(normal_class, series, budget, diff_last, paper_diff)
        verdicts.append(verdict)
        main.append([normal_class, f"{series} − {baseline[0].series}", str(n), str(budget),
                     diff_last.text(signed=True) if diff_last else "–",
                     diff_final.text(signed=True) if diff_final else "–",
                     "–" if paper_diff is None else f"{paper_diff * 100:+.1f}", verdict.outcome])
        cells = []
        for b in budgets_of(budget):
            d, _ = paired(runs, baseline, lambda r, b=b: r.last_mean(b) if b >= LAST_K else r.at(b))
            cells.append(f"{b}: {d.text(signed=True)}" if d else f"{b}: –")
        by_budget.append([normal_class, f"{series} − {baseline[0].series}", "; ".join(cells)])
    header = ["class", "difference", "pairs", "epochs", f"last-{LAST_K}", "final", "paper", "verdict"]
    return (_table(header, main), _table(["class", "difference", f"last-{LAST_K} gap at each budget"], by_budget),
            verdicts)


def factor_rows(grouped: dict[tuple[str, str], list[Run]]) -> list[str]:
    """Paired comparisons of series one factor apart (crafting schedule, PGD steps, precision, ...), and
    whether the changed series stays within the seed spread of the series with the paper's setting."""
    rows = []
    keys = list(grouped)
    for i, key_a in enumerate(keys):
        for key_b in keys[i + 1:]:
            if key_a[0] != key_b[0]:
                continue
            a, b = grouped[key_a], grouped[key_b]
            factor = one_factor_apart(a[0], b[0])
            if factor is None:
                continue
            budget = min(common_budget(a), common_budget(b))
            d_last, n = paired(a, b, lambda r, budget=budget: r.last_mean(budget))
            d_final, _ = paired(a, b, lambda r, budget=budget: r.at(budget))
            d_peak, _ = paired(a, b, lambda r, budget=budget: r.peak(budget)[1])
            b_by_seed = {run.seed: run for run in b}
            curve_gap = estimate([mean_abs_gap(run, b_by_seed.get(run.seed), budget) for run in a])
            changed, reference = (a, b) if dict(b[0].factors)[factor] == "" else (b, a)
            rows.append([key_a[0], factor, f"{key_a[1]} − {key_b[1]}", str(n), str(budget),
                         d_last.text(signed=True) if d_last else "–", d_final.text(signed=True) if d_final else "–",
                         d_peak.text(signed=True) if d_peak else "–", curve_gap.text() if curve_gap else "–",
                         within_spread(changed, reference, budget)])
    return _table(["class", "factor", "difference (A − B)", "pairs", "epochs", f"last-{LAST_K}", "final", "peak",
                   "mean curve gap (abs.)", "within the reference's seed spread"], rows)


def within_spread(changed: Sequence[Run], reference: Sequence[Run], budget: int) -> str:
    """How often the changed series' seed-mean curve lies within the reference series' lowest-to-highest
    seed band (at the epochs all runs evaluated up to `budget`), and whether its mean last-50 AUROC lies
    within the reference seeds' range. The reference is the series with the paper's setting."""
    if len(reference) < 2:
        return "– (one reference seed)"
    curves = [dict(zip(r.epochs, r.auroc)) for r in (*changed, *reference)]
    epochs = sorted(e for e in set.intersection(*(set(c) for c in curves)) if e <= budget)
    if not epochs:
        return "–"
    ours, theirs = curves[:len(changed)], curves[len(changed):]
    inside = sum(min(c[e] for c in theirs) <= statistics.fmean(c[e] for c in ours) <= max(c[e] for c in theirs)
                 for e in epochs)
    last = [r.last_mean(budget) for r in reference]
    mean_last = statistics.fmean(r.last_mean(budget) for r in changed)
    verdict = "yes" if min(last) <= mean_last <= max(last) else "no"
    return f"{100 * inside / len(epochs):.0f} % of epochs; last-{LAST_K}: {verdict}"


def mean_abs_gap(run: Run, other: Run | None, budget: int) -> float | None:
    """Mean absolute difference of two AUROC curves over the epochs both evaluated up to `budget`."""
    if other is None:
        return None
    theirs = dict(zip(other.epochs, other.auroc))
    gaps = [abs(a - theirs[e]) for e, a in zip(run.epochs, run.auroc) if e <= budget and e in theirs]
    return statistics.fmean(gaps) if gaps else None


def precision_lines(grouped: dict[tuple[str, str], list[Run]]) -> list[str]:
    """Whether each bf16 series stays within the seed spread of its float32 twin (the series one setting
    apart, precision, that runs in float32): the test for recommending the fast setting."""
    lines = []
    for (normal_class, _series), runs in grouped.items():
        label = dict(runs[0].factors).get("precision")
        if not label:
            continue
        twin = next((other for (c, _), other in grouped.items() if c == normal_class
                     and one_factor_apart(runs[0], other[0]) == "precision" and not dict(other[0].factors)["precision"]), None)
        if twin is None:
            continue
        budget = min(common_budget(runs), common_budget(twin))
        d_last, n = paired(runs, twin, lambda r, budget=budget: r.last_mean(budget))
        lines.append(f"- Class {normal_class}, {label} against float32 ({n} paired seeds, {budget} epochs): last-{LAST_K} "
                     f"difference {d_last.text(signed=True) if d_last else '–'} points; within float32's seed spread: "
                     f"{within_spread(runs, twin, budget)}.")
    return ["### Precision", "", *lines, ""] if lines else []


def verdict_lines(verdicts: list[Verdict]) -> list[str]:
    lines = []
    for v in verdicts:
        paper = "" if v.paper_diff is None else f" (paper: {v.paper_diff * 100:+.1f})"
        diff = v.diff.text(signed=True) if v.diff else "–"
        lines.append(f"- Class {v.normal_class}, {v.series} − DAE after {v.budget} epochs: {diff} points "
                     f"of last-{LAST_K} AUROC{paper}: {v.outcome}.")
    resolved = [v for v in verdicts if v.holds is not None]
    confirmed = [v for v in resolved if v.holds]
    if resolved:
        lines.append("")
        lines.append(f"The paper's ordering (ARAE above DAE) is confirmed in {len(confirmed)} of {len(resolved)} "
                     "class-and-series cells with an interval at this budget.")
    return lines + [""]


def write_report(runs: list[Run], out: Path, source: Path) -> Path:
    from arae.reporting.fidelity_plot import plot_curves

    if not runs:
        raise UserError(f"no completed run with a per-epoch AUROC history below {source}: run `make fidelity` "
                        "first, or point the report at a folder of results.json files")
    grouped = series_of(runs)
    figures = out / "fidelity"
    figures.mkdir(parents=True, exist_ok=True)
    pngs = [plot_curves(figures / f"class_{c}.png", c, {s: r for (k, s), r in grouped.items() if k == c})
            for c in dict.fromkeys(k for k, _ in grouped)]
    gap_table, budget_table, verdicts = gap_rows(grouped)
    lines = [
        "# Fidelity study: does ARAE beat DAE?",
        "",
        "Generated by `python -m arae.reporting.fidelity` from the results.json of "
        f"{len(runs)} completed runs below `{source}` (`make fidelity` reruns and rebuilds it). MNIST, protocol 2, "
        "the paper's sigmoid MLP, Adam 1e-3, batch 256, ε = 0.2, unless a series says otherwise. AUROC in %; "
        "± is the half-width of the 95 % confidence interval over seeds (t distribution); one seed has no "
        f"interval. last-{LAST_K} is the mean test AUROC of a run's last {LAST_K} epochs, the paper's figure.",
        "",
        "## Verdict",
        "",
        *verdict_lines(verdicts),
        *precision_lines(grouped),
        "## Per class and series",
        "",
        *main_table(grouped),
        "## ARAE − DAE, paired by seed",
        "",
        *gap_table,
        "### The gap as the budget grows",
        "",
        f"The same runs read at shorter budgets (last-{LAST_K} mean of a run stopped there).",
        "",
        *budget_table,
        "## Series one setting apart (paired by seed)",
        "",
        *factor_rows(grouped),
        "## AUROC against epoch",
        "",
        "Mean over seeds; the band spans the seeds' lowest and highest value; the paper's last-50 value "
        "as a dotted line.",
        "",
        *[f"![class {p.stem.removeprefix('class_')}](fidelity/{p.name})" for p in pngs],
        "",
    ]
    path = out / "fidelity.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m arae.reporting.fidelity", description=__doc__.split("\n\n")[0])
    p.add_argument("dir", type=Path, help="the study's folder of runs (searched recursively for results.json)")
    p.add_argument("--out", type=Path, default=Path("docs"), help="where fidelity.md and fidelity/ go")
    args = p.parse_args(argv)
    try:
        if not args.dir.is_dir():
            raise UserError(f"{args.dir} is not a folder: give the study's folder, e.g. studies/fidelity")
        path = write_report(load_runs(args.dir), args.out, args.dir)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
