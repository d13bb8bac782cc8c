"""Reports of the `make reproduce-table1/3/4/5/figure4` sweeps: our numbers beside the paper's.

    python -m arae.reproduce_data table3 SWEEP_DIR [--out DIR]

reads every results.json under SWEEP_DIR (failed jobs are listed, never dropped silently; Table 5 also
reads the robustness.json files `arae-analyze robustness` wrote there) and writes DIR/<table>.md and
DIR/<table>.csv (DIR defaults to SWEEP_DIR).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from importlib import resources
from pathlib import Path

import yaml

from arae.results import LAST_K, RESULTS_FILE, read_results


PAPER_FILE = "paper_tables_1_3_4_5.yaml"

# The F1 each report reads: the paper takes the anomaly as positive except in Figure 4.
TABLE3_F1 = "f1_anomaly_max"
FIGURE4_F1 = "f1_normal_at_val_threshold"
FIGURE4_BEST_F1 = "f1_normal_max"


def paper() -> dict:
    return yaml.safe_load(resources.files("arae.reference").joinpath(PAPER_FILE).read_text())


def load_runs(sweep: Path) -> tuple[list[dict], list[str]]:
    runs, failures = [], []
    for path in sorted(Path(sweep).rglob(RESULTS_FILE)):
        result = read_results(path)
        if result.get("status") == "completed":
            runs.append(result)
        else:
            failures.append(f"{path.parent.name}: {result.get('error', 'no error recorded')}")
    return runs, failures


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _epochs(runs: list[dict]) -> str:
    return ", ".join(str(e) for e in sorted({r["epochs"] for r in runs})) or "–"


def table1(runs: list[dict], sweep: Path) -> tuple[list[str], list[list]]:
    ref = paper()["table1"]["rows"]
    header = ["dataset", "runs", "epochs", "AUROC (last epoch)", "AUROC mean last 50", "std last 50",
              "paper AUROC", "paper std last 50"]
    rows = []
    for name, published in ref.items():
        mine = [r for r in runs if r["dataset"] == name]
        last, _ = _mean_std([r["test"]["auroc"] for r in mine])
        mean, _ = _mean_std([r[LAST_K]["mean"] for r in mine])
        std, _ = _mean_std([r[LAST_K]["std"] for r in mine])
        rows.append([name, len(mine), _epochs(mine), last, mean, std, published["auroc"], published["auroc_std_last_50"]])
    return header, rows


def table3(runs: list[dict], sweep: Path) -> tuple[list[str], list[list]]:
    header = ["n", "tau", "draws", "epochs", "AUROC mean", "AUROC std", "F1 (anomaly positive) mean", "F1 std",
              "paper AUROC", "paper F1"]
    rows = []
    for published in paper()["table3"]["rows"]:
        mine = [
            r for r in runs
            if r["dataset"] == "coil100" and len(r["normal_classes"]) == published["n_normal"]
            and abs(r["config"]["protocol"]["tau"] - published["tau"]) < 1e-9
        ]
        auroc, auroc_std = _mean_std([r["test"]["auroc"] for r in mine])
        f1, f1_std = _mean_std([r["test"].get(TABLE3_F1) for r in mine])
        rows.append([published["n_normal"], f"{published['tau']:g}", len(mine), _epochs(mine), auroc, auroc_std, f1, f1_std,
                     published["auroc"], published["f1"]])
    return header, rows


def table4(runs: list[dict], sweep: Path) -> tuple[list[str], list[list]]:
    ref = paper()["table4"]
    header = ["class", "runs", "epochs", "AUROC", "paper"]
    rows, means = [], []
    for cls in ref["classes"]:
        mine = [r for r in runs if r["dataset"].startswith("cifar10") and r["normal_classes"] == [cls]]
        auroc, _ = _mean_std([r["test"]["auroc"] for r in mine])
        means.append(auroc)
        rows.append([cls, len(mine), _epochs(mine), auroc, None])
    done = [m for m in means if m is not None]
    rows.append(["mean", sum(r[1] for r in rows), _epochs(runs), statistics.fmean(done) if done else None, ref["mean_auroc"]])
    return header, rows


def figure4(runs: list[dict], sweep: Path) -> tuple[list[str], list[list]]:
    header = ["tau", "classes", "epochs", "F1 (normal positive) at validation threshold (mean)", "std over classes",
              "best F1 on test (mean)", "paper"]
    rows = []
    found = sorted({round(r["config"]["protocol"]["tau"], 6) for r in runs if r["config"]["protocol"].get("tau")})
    for tau in found or paper()["figure4"]["taus"]:
        mine = [r for r in runs if abs(r["config"]["protocol"]["tau"] - tau) < 1e-9]
        at_val = [r["test"].get(FIGURE4_F1) for r in mine]
        best = [r["test"].get(FIGURE4_BEST_F1) for r in mine]
        mean, std = _mean_std(at_val)
        rows.append([f"{tau:g}", len(mine), _epochs(mine), mean, std, _mean_std(best)[0], None])
    return header, rows


def robustness_reports(sweep: Path) -> list[dict]:
    """Every model of every robustness.json under the sweep, each with the results.json of its run."""
    models = []
    for path in sorted(Path(sweep).rglob("robustness.json")):
        for model in json.loads(path.read_text())["models"]:
            run = Path(model["checkpoint"]).parent.parent / RESULTS_FILE
            models.append({**model, "run": read_results(run) if run.is_file() else {}})
    return models


def table5(runs: list[dict], sweep: Path) -> tuple[list[str], list[list]]:
    ref = paper()["table5"]
    header = ["model", "epsilon", "models", "epochs", "AUROC clean", "AUROC attacked mean", "std",
              "paper (same model)", "paper LSA"]
    models = robustness_reports(sweep)
    names = sorted({m["name"] for m in models}, key=lambda n: (n != "ARAE", n)) or ["ARAE"]
    rows = []
    for name in names:
        mine = [m for m in models if m["name"] == name]
        clean, _ = _mean_std([m["results"]["clean"]["auroc"] for m in mine])
        epochs = _epochs([m["run"] for m in mine if "epochs" in m["run"]])
        for published in ref["rows"]:
            key = f"eps={published['epsilon']:g}"
            attacked, std = _mean_std([m["results"][key]["auroc"] for m in mine if key in m["results"]])
            rows.append([name, f"{published['epsilon']:g}", len(mine), epochs, clean, attacked, std,
                         published["auroc"].get(name), published["auroc"]["LSA"]])
    return header, rows


def _plot_figure4(rows: list[list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(float(r[0]), r[3], r[4] or 0.0) for r in rows if r[3] is not None]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if points:
        taus, f1, std = zip(*points)
        ax.errorbar([100 * t for t in taus], f1, yerr=std, marker="o", capsize=3, label="ARAE (ours)")
    ax.set_xlabel("normal share of the test set, tau (%)")
    ax.set_ylabel("F1 (normal positive)")
    ax.set_title("MNIST, protocol 1, threshold from validation", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


TABLES = {"table1": table1, "table3": table3, "table4": table4, "table5": table5, "figure4": figure4}


def write_report(name: str, sweep: Path, out: Path | None = None) -> Path:
    runs, failures = load_runs(sweep)
    header, rows = TABLES[name](runs, Path(sweep))
    out = Path(out or sweep)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    lines = [f"# {name}: {paper()[name]['caption']}", "", f"Runs read from `{sweep}`: {len(runs)} completed, "
             f"{len(failures)} failed. Paper values from arae/reference/{PAPER_FILE}.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) if isinstance(v, float) or v is None else str(v) for v in row) + " |" for row in rows]
    if failures:
        lines += ["", "Failed jobs:", *[f"- {f}" for f in failures]]
    if name == "table5":
        attacks = sorted({(m["steps"], m["objective"]) for m in robustness_reports(sweep)})
        lines += ["", "Attack: L-inf PGD on the normal test images, step 2.5 eps / steps, random start; "
                  + "; ".join(f"{steps} steps, objective `{objective}`" for steps, objective in attacks) + "."]
    if name == "figure4":
        _plot_figure4(rows, out / "figure4.png")
        lines += ["", "Plot: figure4.png"]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out / f"{name}.md"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=sorted(TABLES))
    parser.add_argument("sweep", type=Path, help="folder holding the sweep's results.json files")
    parser.add_argument("--out", type=Path, default=None, help="where to write <table>.md and .csv (default: sweep)")
    args = parser.parse_args(argv)
    write_report(args.table, args.sweep, args.out)


if __name__ == "__main__":
    main()
