"""Tables 1, 3, 4, 5 and Figure 4 (data sets, protocols, robustness): ours beside the paper's values.

Each function turns the jobs of a sweep (`collect`) into a header and rows; `write` renders them as
NAME.md and NAME.csv (Figure 4 also as NAME.png). AUROC and F1 in %, mean and sample std (arae/stats.py)
over the runs of a row; the paper's values come from paper_tables.yaml.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from arae.reporting.collect import COMPLETED, Job
from arae.reporting.paper import paper_values
from arae.reporting.render import DASH, markdown_table, problems_markdown
from arae.results import LAST_K
from arae.stats import mean_std

# The F1 each table reads: the paper takes the anomaly as positive except in Figure 4.
TABLE3_F1 = "test.f1_anomaly_max"
FIGURE4_F1 = "test.f1_normal_at_val_threshold"
FIGURE4_BEST_F1 = "test.f1_normal_max"
ROBUSTNESS_FILE = "robustness.json"

Rows = tuple[list[str], list[list]]


def _pct(values) -> tuple[float | None, float | None]:
    """Mean and std over runs, in %."""
    mean, std = mean_std(values)
    return (None if mean is None else 100 * mean), (None if std is None else 100 * std)


def _epochs(jobs: list[Job]) -> str:
    return ", ".join(str(e) for e in sorted({j.get("epochs") for j in jobs} - {None})) or DASH


def _tau(job: Job) -> float | None:
    return job.get("config.protocol.tau")


def table1(jobs: list[Job], root: Path) -> Rows:
    header = ["dataset", "runs", "epochs", "AUROC (last epoch)", "AUROC mean last K", "std last K", "paper AUROC",
              "paper std last 50"]
    rows = []
    for name, published in paper_values("table1")["rows"].items():
        mine = [j for j in jobs if j.get("dataset") == name]
        last = _pct(j.get("test.auroc") for j in mine)[0]
        mean = _pct(j.get(f"{LAST_K}.mean") for j in mine)[0]
        std = _pct(j.get(f"{LAST_K}.std") for j in mine)[0]  # each run's std over its last K epochs, mean over runs
        rows.append([name, len(mine), _epochs(mine), last, mean, std, published["auroc"], published["std"]])
    return header, rows


def table3(jobs: list[Job], root: Path) -> Rows:
    header = ["n", "tau", "draws", "epochs", "AUROC mean", "AUROC std", "F1 (anomaly positive) mean", "F1 std",
              "paper AUROC", "paper F1"]
    rows = []
    for published in paper_values("table3")["rows"]:
        mine = [
            j for j in jobs
            if j.get("dataset") == "coil100" and len(j.get("normal_classes") or []) == published["n_normal"]
            and _tau(j) is not None and abs(_tau(j) - published["tau"]) < 1e-9
        ]
        auroc, auroc_std = _pct(j.get("test.auroc") for j in mine)
        f1, f1_std = _pct(j.get(TABLE3_F1) for j in mine)
        rows.append([published["n_normal"], f"{published['tau']:g}", len(mine), _epochs(mine), auroc, auroc_std, f1,
                     f1_std, published["auroc"], published["f1"]])
    return header, rows


def table4(jobs: list[Job], root: Path) -> Rows:
    published = paper_values("table4")
    header = ["class", "runs", "epochs", "AUROC", "paper"]
    rows, means = [], []
    for cls in published["classes"]:
        mine = [j for j in jobs if str(j.get("dataset")).startswith("cifar10") and j.get("normal_classes") == [cls]]
        auroc = _pct(j.get("test.auroc") for j in mine)[0]
        means.append(auroc)
        rows.append([cls, len(mine), _epochs(mine), auroc, None])
    rows.append(["mean", sum(r[1] for r in rows), _epochs(jobs), mean_std(means)[0], published["mean_auroc"]])
    return header, rows


def figure4(jobs: list[Job], root: Path) -> Rows:
    header = ["tau", "classes", "epochs", "F1 (normal positive) at validation threshold (mean)", "std over classes",
              "best F1 on test (mean)", "paper"]
    rows = []
    found = sorted({round(_tau(j), 6) for j in jobs if _tau(j)})
    for tau in found or paper_values("figure4")["taus"]:
        mine = [j for j in jobs if _tau(j) is not None and abs(_tau(j) - tau) < 1e-9]
        mean, std = _pct(j.get(FIGURE4_F1) for j in mine)
        rows.append([f"{tau:g}", len(mine), _epochs(mine), mean, std, _pct(j.get(FIGURE4_BEST_F1) for j in mine)[0], None])
    return header, rows


def robustness_models(root: Path, jobs: list[Job]) -> list[dict]:
    """Every model of every robustness.json (`arae-analyze robustness`) below root, each with the job of its run."""
    by_folder = {j.folder.resolve(): j for j in jobs}
    models = []
    for path in sorted(Path(root).rglob(ROBUSTNESS_FILE)):
        for model in json.loads(path.read_text())["models"]:
            run = by_folder.get(Path(model["checkpoint"]).parent.parent.resolve())
            models.append({**model, "job": run})
    return models


def table5(jobs: list[Job], root: Path) -> Rows:
    header = ["model", "epsilon", "models", "epochs", "AUROC clean", "AUROC attacked mean", "std",
              "paper (same model)", "paper LSA"]
    models = robustness_models(root, jobs)
    names = sorted({m["name"] for m in models}, key=lambda n: (n != "ARAE", n)) or ["ARAE"]
    rows = []
    for name in names:
        mine = [m for m in models if m["name"] == name]
        clean = _pct(m["results"]["clean"]["auroc"] for m in mine)[0]
        epochs = _epochs([m["job"] for m in mine if m["job"] is not None])
        for published in paper_values("table5")["rows"]:
            key = f"eps={published['epsilon']:g}"
            attacked, std = _pct(m["results"][key]["auroc"] for m in mine if key in m["results"])
            rows.append([name, f"{published['epsilon']:g}", len(mine), epochs, clean, attacked, std,
                         published["auroc"].get(name), published["auroc"]["LSA"]])
    return header, rows


def table5_notes(jobs: list[Job], root: Path) -> list[str]:
    attacks = sorted({(m["steps"], m["objective"]) for m in robustness_models(root, jobs)})
    if not attacks:
        return [f"No {ROBUSTNESS_FILE} below `{root}`: run `arae-analyze robustness` on the sweep's checkpoints."]
    return ["Attack: L-inf PGD on the normal test images, step 2.5 eps / steps, random start; "
            + "; ".join(f"{steps} steps, objective `{objective}`" for steps, objective in attacks) + "."]


TABLES = {"table1": table1, "table3": table3, "table4": table4, "table5": table5, "figure4": figure4}
NOTES = {"table5": table5_notes}


def _cell(value) -> str:
    return DASH if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def _plot_figure4(rows: list[list], path: Path) -> Path:
    from arae.reporting.plot import plt

    points = [(float(r[0]), r[3], r[4] or 0.0) for r in rows if r[3] is not None]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if points:
        taus, f1, std = zip(*points)
        ax.errorbar([100 * t for t in taus], f1, yerr=std, marker="o", capsize=3, label="ARAE (ours)")
        ax.legend(fontsize=8)
    ax.set_xlabel("normal share of the test set, tau (%)")
    ax.set_ylabel("F1 (normal positive, %)")
    ax.set_title("MNIST, protocol 1, threshold from validation", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write(key: str, jobs: list[Job], root: Path, out: Path, name: str) -> list[Path]:
    """Write NAME.md and NAME.csv (and NAME.png for Figure 4); return the files written, the Markdown first."""
    done = [j for j in jobs if j.status == COMPLETED]
    header, rows = TABLES[key](done, root)
    notes = NOTES[key](done, root) if key in NOTES else []
    with open(out / f"{name}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    lines = [f"# {paper_values(key)['title']}: ours beside the paper", "",
             f"{len(done)} completed job(s) of {len(jobs)} under `{root}`. AUROC and F1 in %; std is the sample "
             "std over runs. Paper values: `arae/reporting/paper_tables.yaml`.", ""]
    lines += markdown_table(header, [[_cell(v) for v in row] for row in rows])
    lines += [line for note in notes for line in ("", note)]
    written = [out / f"{name}.md", out / f"{name}.csv"]
    if key == "figure4":
        written.append(_plot_figure4(rows, out / f"{name}.png"))
        lines += ["", f"![{key}]({name}.png)"]
    lines += problems_markdown(jobs)
    written[0].write_text("\n".join(lines) + "\n")
    return written
