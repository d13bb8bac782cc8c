"""Table 5 on the fidelity study's own detectors: AUROC when the normal test images are PGD-attacked
(arae-analyze robustness on each run's checkpoint, saved as robustness.json beside its results.json),
ARAE against DAE paired by seed, beside the paper's Table 5."""

from __future__ import annotations

from arae.reporting.estimates import estimate, paired, text
from arae.reporting.paper import paper_values
from arae.reporting.render import markdown_table
from arae.reporting.series import Grouped, baseline_of


def _attacks(grouped: Grouped) -> list[str]:
    seen = {k for runs in grouped.values() for r in runs if r.robustness for k in r.robustness}
    return sorted(seen, key=lambda k: (k != "clean", k))


def _paper(attack: str) -> str:
    for row in paper_values("table5")["rows"]:
        if attack == f"eps={row['epsilon']:g}":
            return f"{row['auroc']['ARAE']:.1f}"
    return "–"


def section(grouped: Grouped) -> list[str]:
    attacked = {key: [r for r in runs if r.robustness] for key, runs in grouped.items()}
    attacked = {key: runs for key, runs in attacked.items() if runs}
    if not attacked:
        return []
    attacks = _attacks(attacked)

    def value(attack):
        return lambda r: (r.robustness or {}).get(attack)

    rows = []
    for (normal_class, series), runs in attacked.items():
        rows.append([normal_class, series, str(len(runs)), str(min(r.length for r in runs)),
                     *(text(estimate([value(a)(r) for r in runs])) for a in attacks)])
    diffs = []
    for (normal_class, series), runs in attacked.items():
        if runs[0].method == "DAE":
            continue
        baseline = baseline_of(attacked, normal_class, runs[0])
        if not baseline:
            continue
        cells = [paired(runs, baseline, value(a)) for a in attacks]
        diffs.append([normal_class, f"{series} − DAE", str(max(n for _, n in cells)),
                      *(text(d, signed=True) for d, _ in cells)])
    header = [f"AUROC {a.replace('eps=', 'ε = ')}" for a in attacks]
    lines = [
        "## Table 5 on the same detectors",
        "",
        "`arae-analyze robustness` on each run's final checkpoint: L∞ PGD (40 steps of 2.5ε/40, random start) "
        "maximising the reconstruction error of the normal test images, the anomalies left clean. Mean over "
        "seeds ± 95 % CI; the paper's Table 5 (ARAE, class 8): "
        + ", ".join(f"{a.replace('eps=', 'ε = ')}: {_paper(a)}" for a in attacks if _paper(a) != "–") + ".",
        "",
        *markdown_table(["class", "series", "seeds", "epochs", *header], rows),
        "",
    ]
    if diffs:
        lines += ["ARAE − DAE under the same attack, paired by seed (points of AUROC):", "",
                  *markdown_table(["class", "difference", "pairs", *header], diffs), ""]
    return lines
