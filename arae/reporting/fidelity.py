"""The fidelity study's report: does ARAE beat DAE on MNIST, over seeds, at the budget that was run?

`python -m arae.reporting.fidelity STUDY_DIR [--union UNION_DIR] --out docs` (run by `make fidelity`) reads
every completed results.json below STUDY_DIR and writes `fidelity.md` and its figures `fidelity/*.png` into
--out: the series and their paired ARAE − DAE differences, the verdict, Table 5 on the same detectors
(where a run folder holds robustness.json) and, with --union, the authors' union script beside its log.
Every number is computed from the runs' recorded settings and per-epoch AUROC histories (arae/reporting/runs.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from arae.errors import UserError
from arae.reporting.estimates import Estimate, estimate, paired, text
from arae.reporting.render import markdown_table
from arae.reporting.runs import LAST_K, Run, load_runs, prefix_gap
from arae.reporting.series import (
    Grouped,
    baseline_of,
    common_budget,
    factors,
    label,
    one_factor_apart,
    paper_value,
    series_of,
)

# The budgets at which the gap is read (the curve points; the paper's MNIST budget is 1,600).
BUDGETS = (50, 100, 200, 350, 800, 1600)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [*markdown_table(header, rows), ""]


def _fmt(value: float | None, scale: float = 100.0) -> str:
    return "–" if value is None else f"{value * scale:.1f}"


def _family(run: Run) -> str:
    """A series without its precision: precision twins of one setting are one family."""
    return label(run, without=("precision",))


def last_value(budget: int):
    """The run's last-50 mean at `budget` (its AUROC there below 50 epochs)."""
    return lambda r: r.last_mean(budget) if budget >= LAST_K else r.at(budget)


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
        """Whether the paper's ordering (ARAE above DAE) is confirmed."""
        if self.diff is None or self.diff.half is None:
            return None
        return self.diff.low > 0


def _paper_diff(method: str, normal_class: str) -> float | None:
    a, d = paper_value(method, normal_class), paper_value("DAE", normal_class)
    return None if a is None or d is None else a - d


def verdict_at(grouped: Grouped, normal_class: str, series: str, budget: int) -> Verdict | None:
    runs = grouped[(normal_class, series)]
    baseline = baseline_of(grouped, normal_class, runs[0])
    if baseline is None:
        return None
    diff, _ = paired(runs, baseline, last_value(budget))
    return Verdict(normal_class, series, budget, diff, _paper_diff(runs[0].method, normal_class))


# -- the tables -------------------------------------------------------------------------------------------


def main_table(grouped: Grouped) -> list[str]:
    rows = []
    for (normal_class, series), runs in grouped.items():
        budget = common_budget(runs)
        last = estimate([r.last_mean(budget) for r in runs])
        final = estimate([r.at(budget) for r in runs])
        peaks = [r.peak(budget) for r in runs]
        peak = estimate([p[1] for p in peaks])
        spe = estimate([r.seconds_per_epoch for r in runs if r.seconds_per_epoch])
        rows.append([
            normal_class, series, str(len(runs)), str(budget), text(last), text(final),
            f"{peak.text()} (ep. {', '.join(str(p[0]) for p in peaks)})" if peak else "–",
            _fmt(paper_value(runs[0].method, normal_class)), f"{spe.mean:.1f}" if spe else "–",
        ])
    return _table(["class", "series", "seeds", "epochs", f"last-{LAST_K} AUROC", "final AUROC",
                   "peak AUROC (epoch per seed)", "paper", "s/epoch"], rows)


def gap_rows(grouped: Grouped) -> tuple[list[str], list[str], list[Verdict]]:
    """The paired ARAE − DAE table at each series' own budget, the gap at the BUDGETS, and the verdicts."""
    main, by_budget, verdicts = [], [], []
    for (normal_class, series), runs in grouped.items():
        if runs[0].method == "DAE":
            continue
        baseline = baseline_of(grouped, normal_class, runs[0])
        if not baseline:
            continue
        budget = min(common_budget(runs), common_budget(baseline))
        verdict = verdict_at(grouped, normal_class, series, budget)
        verdicts.append(verdict)
        diff_final, n = paired(runs, baseline, lambda r, budget=budget: r.at(budget))
        name = f"{series} − {label(baseline[0])}"
        main.append([normal_class, name, str(n), str(budget), text(verdict.diff, signed=True),
                     text(diff_final, signed=True),
                     "–" if verdict.paper_diff is None else f"{verdict.paper_diff * 100:+.1f}", verdict.outcome])
        cells = []
        for b in [b for b in BUDGETS if b < budget] + [budget]:
            d, pairs = paired(runs, baseline, last_value(b))
            cells.append(f"{b}: {text(d, signed=True)}" + (f" ({pairs} pairs)" if pairs != n else ""))
        by_budget.append([normal_class, name, "; ".join(cells)])
    header = ["class", "difference", "pairs", "epochs", f"last-{LAST_K}", "final", "paper", "verdict"]
    return (_table(header, main), _table(["class", "difference", f"last-{LAST_K} gap at each budget"], by_budget),
            verdicts)


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


def factor_rows(grouped: Grouped) -> list[str]:
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
            changed, reference = (a, b) if dict(factors(b[0].settings))[factor] == "" else (b, a)
            rows.append([key_a[0], factor, f"{key_a[1]} − {key_b[1]}", str(n), str(budget),
                         text(d_last, signed=True), text(d_final, signed=True), text(d_peak, signed=True),
                         text(curve_gap), within_spread(changed, reference, budget)])
    return _table(["class", "factor", "difference (A − B)", "pairs", "epochs", f"last-{LAST_K}", "final", "peak",
                   "mean curve gap (abs.)", "within the reference's seed spread"], rows)


# -- the verdict: one line per class and budget ----------------------------------------------------------


def _pairs(grouped: Grouped, key: tuple[str, str], budget: int) -> int:
    runs = grouped[key]
    baseline = baseline_of(grouped, key[0], runs[0])
    return 0 if baseline is None else paired(runs, baseline, last_value(budget))[1]


def best_supported(grouped: Grouped, normal_class: str, budget: int, schedule: str | None = None
                   ) -> tuple[str, list[str]] | None:
    """The ARAE series that stands for the class at `budget`, and its precision twins: of the families
    (a setting with its precision twins) with a DAE baseline, the one with the most paired seeds at that
    budget (then the most seed-epochs); in it, the series with the most pairs (float32 first on a tie)."""
    families: dict[str, list[tuple[str, str]]] = {}
    for key, runs in grouped.items():
        first = runs[0]
        if key[0] != normal_class or first.method != "ARAE" or _pairs(grouped, key, budget) == 0:
            continue
        if schedule is not None and first.settings.get("crafting") != schedule:
            continue
        families.setdefault(_family(first), []).append(key)
    if not families:
        return None

    def support(keys):
        return (max(_pairs(grouped, k, budget) for k in keys), sum(r.length for k in keys for r in grouped[k]))

    keys = max(families.values(), key=support)
    keys = sorted(keys, key=lambda k: (-_pairs(grouped, k, budget), bool(dict(factors(grouped[k][0].settings))["precision"]), k[1]))
    return keys[0][1], [k[1] for k in keys[1:]]


def verdict_lines(grouped: Grouped, schedule: str | None = None) -> tuple[list[str], list[Verdict]]:
    """One line per class and budget (BUDGETS, and each class's longest), for the best-supported ARAE
    setting; its precision twins are a robustness check on the line, not extra cells."""
    lines, final = [], []
    for normal_class in dict.fromkeys(c for c, _ in grouped):
        longest = max((run.length for (c, _), runs in grouped.items() if c == normal_class for run in runs), default=0)
        last = None
        for budget in sorted({*(b for b in BUDGETS if b <= longest), longest}):
            chosen = best_supported(grouped, normal_class, budget, schedule)
            if chosen is None:
                continue
            series, twins = chosen
            v = verdict_at(grouped, normal_class, series, budget)
            paper = "" if v.paper_diff is None else f" (paper: {v.paper_diff * 100:+.1f})"
            n = v.diff.n if v.diff else 0
            line = (f"- Class {normal_class}, {budget} epochs: {series} − DAE: {text(v.diff, signed=True)} points of "
                    f"last-{LAST_K} AUROC over {n} paired seed{'s' if n != 1 else ''}{paper}: {v.outcome}.")
            checks = [f"{t}: {text(verdict_at(grouped, normal_class, t, budget).diff, signed=True)}" for t in twins
                      if _pairs(grouped, (normal_class, t), budget)]
            if checks:
                line += " Precision twins: " + "; ".join(checks) + "."
            lines.append(line)
            last = v
        if last is not None:
            final.append(last)
    return lines, final


def summary_line(final: list[Verdict]) -> str:
    resolved = [v for v in final if v.holds is not None]
    parts = [f"class {v.normal_class} at {v.budget} epochs: {v.outcome.split(' (')[0]}" for v in final]
    return (f"At each class's longest budget ({'; '.join(parts)}), the paper's ordering (ARAE above DAE) is "
            f"confirmed in {sum(bool(v.holds) for v in resolved)} of {len(resolved)} classes with an interval "
            "(one independent cell per class).")


def schedule_pairs(grouped: Grouped):
    """(class, per-batch series, its runs, per-epoch series, their runs): one ARAE setting's two crafting
    schedules on one class."""
    for (normal_class, series), runs in grouped.items():
        if runs[0].method != "ARAE" or runs[0].settings.get("crafting") != "batch":
            continue
        for (c, other), their in grouped.items():
            if c == normal_class and one_factor_apart(runs[0], their[0]) == "schedule":
                yield normal_class, series, runs, other, their


def schedule_lines(grouped: Grouped) -> list[str]:
    """Per class, the two crafting schedules of one setting paired by seed at their longest common budget."""
    lines = []
    for normal_class, series, runs, other, their in schedule_pairs(grouped):
        budget = min(common_budget(runs), common_budget(their))
        d, n = paired(runs, their, last_value(budget))
        lines.append(f"- Class {normal_class}, {series} − {other}: {text(d, signed=True)} points of last-{LAST_K} "
                     f"AUROC at {budget} epochs ({n} paired seed{'s' if n != 1 else ''}).")
    return lines


PAPER_BUDGET = 1600  # epochs: the paper's MNIST budget (conf/dataset/mnist.yaml paper_epochs)
SCHEDULE_NAMES = {"epoch": "per-epoch", "batch": "per-batch"}


def default_schedule() -> str:
    """The crafting schedule a run (and every reproduce target) takes unless told: conf/train.yaml's."""
    import yaml

    from arae.train import config_dir

    defaults = yaml.safe_load((config_dir() / "train.yaml").read_text())["defaults"]
    return next(item["crafting"] for item in defaults if isinstance(item, dict) and "crafting" in item)


def decision_lines(grouped: Grouped, schedule: str) -> list[str]:
    """Which schedule the reproduce targets run (`schedule`, conf/train.yaml) beside the evidence: per-batch
    minus per-epoch crafting paired by seed at the paper's budget, and at the shorter budgets."""
    at_paper, shorter = [], []
    for normal_class, _, runs, _, their in schedule_pairs(grouped):
        budgets = [b for b in BUDGETS if b <= min(common_budget(runs), common_budget(their))]
        for budget in budgets:
            d, n = paired(runs, their, last_value(budget))
            if d is None:
                continue
            item = (normal_class, budget, d, n)
            (at_paper if budget == PAPER_BUDGET else shorter).append(item)

    def listed(items):
        return "; ".join(f"class {c} at {b} epochs {text(d, signed=True)} ({n} seed{'s' if n != 1 else ''})"
                         for c, b, d, n in items)

    name = SCHEDULE_NAMES.get(schedule, schedule)
    other = "batch" if schedule == "epoch" else "epoch"
    lines = [f"The reproduce targets run {name} crafting (`crafting: {schedule}` in conf/train.yaml; "
             f"`ARGS=crafting={other}` runs the other schedule) at the paper's budget."]
    if not at_paper:
        return [*lines, f"No pair of schedules has reached {PAPER_BUDGET} epochs yet."]
    def ahead(items, sign):
        return [i for i in items if i[2].low is not None and (i[2].low > 0 if sign > 0 else i[2].high < 0)]

    lines.append(f"Per-batch minus per-epoch last-{LAST_K} AUROC at {PAPER_BUDGET} epochs: {listed(at_paper)}.")
    batch, epoch = ahead(at_paper, +1), ahead(at_paper, -1)
    if batch or epoch:
        lines.append(f"At the paper's budget a difference is resolved (per-batch ahead: {listed(batch) or 'none'}; "
                     f"per-epoch ahead: {listed(epoch) or 'none'}): weigh it against the choice above.")
    elif schedule == "epoch":
        lines.append("At the paper's budget no difference is resolved, so the targets keep the paper's literal schedule.")
    else:
        lines.append("At the paper's budget no difference is resolved.")
    if shorter:
        batch, epoch = ahead(shorter, +1), ahead(shorter, -1)
        lines.append(f"At shorter budgets, of {len(shorter)} paired comparisons, per-batch crafting is ahead (95 % CI "
                     f"excludes 0) in {len(batch)}{': ' + listed(batch) if batch else ''}, per-epoch crafting in "
                     f"{len(epoch)}{': ' + listed(epoch) if epoch else ''}, and the rest are unresolved.")
    return lines


# -- the report -------------------------------------------------------------------------------------------


def dae_note(runs: list[Run]) -> str:
    daes = [r for r in runs if r.method == "DAE"]
    clipped = sum(r.settings.get("noise_clip") is not False for r in daes)
    return (f"The DAE's noisy input x + u, u ~ U[0, 0.1], was clipped to [0, 1] in {clipped} of its {len(daes)} runs "
            "(`attack.adversary.clip`; the paper does not say, docs/open-settings.md).")


def write_report(runs: list[Run], out: Path, source: Path, union: Path | None = None) -> Path:
    from arae.reporting import table5, union_script
    from arae.reporting.fidelity_plot import plot_curves

    if not runs:
        raise UserError(f"no completed run with a per-epoch AUROC history below {source}: run `make fidelity` "
                        "first, or point the report at a folder of results.json files")
    grouped, superseded = series_of(runs)
    distinct_runs = sum(len(r) for r in grouped.values())
    figures = out / "fidelity"
    figures.mkdir(parents=True, exist_ok=True)
    pngs = []
    for c in dict.fromkeys(k for k, _ in grouped):
        series = {s: r for (k, s), r in grouped.items() if k == c}
        paper = {s: paper_value(r[0].method, c) for s, r in series.items()}
        pngs.append(plot_curves(figures / f"class_{c}.png", c, series, paper))
    gap_table, budget_table, _ = gap_rows(grouped)
    lines, final = verdict_lines(grouped)
    per_epoch, _ = verdict_lines(grouped, schedule="epoch")
    out_lines = [
        "# Fidelity study: does ARAE beat DAE?",
        "",
        "Generated by `python -m arae.reporting.fidelity` from the results.json of "
        f"{len(runs)} completed runs below `{source}` (`make fidelity` reruns and rebuilds it): {distinct_runs} "
        f"distinct (setting, class, seed) runs; {len(superseded)} shorter runs of a setting and seed that a longer "
        "run stands for are superseded by it (listed at the end). MNIST, protocol 2, the "
        "paper's sigmoid MLP, Adam 1e-3, batch 256, ε = 0.2, unless a series says otherwise. AUROC in %; ± is the "
        "half-width of the 95 % confidence interval over seeds (t distribution); one seed has no interval. "
        f"last-{LAST_K} is the mean test AUROC of a run's last {LAST_K} epochs, the paper's figure. "
        + dae_note(runs),
        "",
        "## Verdict",
        "",
        "One line per class and budget, for the ARAE setting with the most paired seeds there; its precision "
        "twins (the same setting at another precision) are a robustness check, not extra evidence.",
        "",
        *lines,
        "",
        summary_line(final) if final else "",
        "",
    ]
    if per_epoch:
        out_lines += ["### The paper's schedule (per-epoch crafting)", "", *per_epoch, ""]
    schedules = schedule_lines(grouped)
    if schedules:
        out_lines += ["### Crafting schedule", "", "Per-batch minus per-epoch crafting, the same setting otherwise, "
                      "paired by seed:", "", *schedules, "", "**Which schedule the reproduce targets run.** "
                      + " ".join(decision_lines(grouped, default_schedule())), ""]
    out_lines += [
        "## Per class and series",
        "",
        *main_table(grouped),
        "## ARAE − DAE, paired by seed",
        "",
        *gap_table,
        "### The gap as the budget grows",
        "",
        f"The same runs read at shorter budgets (last-{LAST_K} mean of a run stopped there; the pairs where fewer "
        "seeds reach the budget).",
        "",
        *budget_table,
        "## Series one setting apart (paired by seed)",
        "",
        *factor_rows(grouped),
        *table5.section(grouped),
        "## AUROC against epoch",
        "",
        "Mean over seeds; the band spans the seeds' lowest and highest value; the paper's last-50 value "
        "as a dotted line.",
        "",
        *[f"![class {p.stem.removeprefix('class_')}](fidelity/{p.name})" for p in pngs],
        "",
    ]
    if union is not None:
        out_lines += union_script.section(load_runs(union), union, figures)
    if superseded:
        same = sum(prefix_gap(a, b) < 1e-6 for a, b in superseded)
        out_lines += ["## Superseded runs", "",
                      "The longest run of each setting and seed stands for the seed. Each run below is superseded by "
                      f"the longer one named beside it: {same} of them are its first epochs to the last digit, the "
                      f"other {len(superseded) - same} are earlier realisations of the same seed (older code or "
                      "another machine) whose AUROC differs from it by up to the points given.", ""]
        for a, b in sorted(superseded, key=lambda p: (label(p[0]), p[0].normal_class, p[0].seed, p[0].length)):
            gap = prefix_gap(a, b)
            how = "identical prefix" if gap < 1e-6 else f"another realisation, up to {100 * gap:.1f} points apart"
            out_lines.append(f"- {label(a)}, class {a.normal_class}, seed {a.seed}: {a.length} epochs, superseded by "
                             f"{b.length} epochs ({how})")
        out_lines.append("")
    path = out / "fidelity.md"
    path.write_text("\n".join(out_lines))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m arae.reporting.fidelity", description=__doc__.split("\n\n")[0])
    p.add_argument("dir", type=Path, help="the study's folder of runs (searched recursively for results.json)")
    p.add_argument("--union", type=Path, default=None,
                   help="a folder of +experiment=union_script runs, compared with the authors' log")
    p.add_argument("--out", type=Path, default=Path("docs"), help="where fidelity.md and fidelity/ go")
    args = p.parse_args(argv)
    try:
        for folder in (args.dir, args.union):
            if folder is not None and not folder.is_dir():
                raise UserError(f"{folder} is not a folder: give the study's folder, e.g. studies/fidelity")
        path = write_report(load_runs(args.dir), args.out, args.dir, args.union)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
