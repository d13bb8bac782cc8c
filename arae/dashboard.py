"""`arae-dashboard SWEEP_DIR`: the W&B report that compares the variants of a sweep, written offline as a
JSON spec (panels of val/auroc per epoch grouped by variant, a table of the last-K AUROC per class and
variant beside the paper's values, and the training losses)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from arae.errors import UserError
from arae.reporting.collect import completed
from arae.reporting.paper import as_classes, comparison_names, paper_table
from arae.results import LAST_K

LOSSES = ["train/loss", "train/loss_rec", "train/loss_latent"]


def _paper_value(dataset: str, attack: str, classes) -> float | None:
    """The paper's AUROC (in %) of the method our `attack` reproduces, for this data set and class(es)."""
    for key in comparison_names():
        table = paper_table(key)
        methods = [m for m, a in table.reproduce.items() if a == attack]
        for part in table.parts:
            if part.dataset != dataset:
                continue
            for method in methods:
                value = part.value(method, as_classes(classes))
                if value is not None:
                    return value
    return None


def auroc_rows(jobs) -> list[dict[str, Any]]:
    """One row per (data set, normal classes, variant): our last-K AUROC (%, mean over seeds) and the paper's."""
    cells: dict[tuple, list[float]] = defaultdict(list)
    for job in jobs:
        last = job.results.get(LAST_K)
        if last is not None:
            key = (job.results["dataset"], tuple(job.results["normal_classes"]), job.results["attack"])
            cells[key].append(100 * last["mean"])
    rows = []
    for (dataset, classes, attack), values in sorted(cells.items()):
        rows.append(
            {
                "dataset": dataset,
                "normal_classes": list(classes),
                "variant": attack,
                "ours": round(sum(values) / len(values), 2),
                "runs": len(values),
                "paper": _paper_value(dataset, attack, list(classes)),
            }
        )
    return rows


def dashboard_spec(sweep_dir: Path, project: str = "arae") -> dict[str, Any]:
    jobs = completed(sweep_dir)
    if not jobs:
        raise UserError(f"no completed results.json under {sweep_dir}: point arae-dashboard at a sweep folder")
    groups = sorted({j.get("group") or j.results["dataset"] for j in jobs})
    runset = {"project": project, "filters": {"group": groups}, "grouping": ["job_type"]}
    return {
        "title": f"ARAE variants: {', '.join(groups)}",
        "project": project,
        "sweep_dir": str(sweep_dir),
        "runsets": [runset],
        "blocks": [
            {
                "type": "panel_grid",
                "title": "Validation AUROC per epoch, by variant",
                "panels": [
                    {"type": "line_plot", "title": f"val/auroc: {g}", "x": "epoch", "y": ["val/auroc"],
                     "filters": {"group": g}, "groupby": "job_type"}  # fmt: skip
                    for g in groups
                ],
            },
            {
                "type": "table",
                "title": "AUROC (%) over the last epochs, per class and variant, beside the paper",
                "columns": ["dataset", "normal_classes", "variant", "ours", "runs", "paper"],
                "rows": auroc_rows(jobs),
            },
            {
                "type": "panel_grid",
                "title": "Training losses",
                "panels": [{"type": "line_plot", "title": "losses", "x": "epoch", "y": LOSSES, "groupby": "job_type"}],
            },
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arae-dashboard", description=__doc__)
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, help="spec file (default: SWEEP_DIR/dashboard.json)")
    parser.add_argument("--project", default="arae")
    args = parser.parse_args(argv)
    try:
        spec = dashboard_spec(args.sweep_dir, args.project)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = args.out or args.sweep_dir / "dashboard.json"
    out.write_text(json.dumps(spec, indent=2))
    print(f"wrote the dashboard spec to {out}")
    print("To publish it once online: upload the runs (wandb sync <job>/wandb/offline-run-*), then build the report")
    print(f"in project '{args.project}' from the spec's blocks (W&B Reports UI, or the wandb-workspaces package).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
