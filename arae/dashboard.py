"""`arae-dashboard SWEEP_DIR`: the W&B report that compares the variants of a sweep, built with
wandb-workspaces: per data set and normal classes, the AUROC of every epoch by variant (runs grouped by the
paper's names: DAE, ARAE, ARAE-A, ARAE-R), and a table of the last-K AUROC per class and variant beside the
paper's value, with the budget and the seeds. Offline it writes the report's validated model as JSON and
the same comparison as a local page (HTML and PNG); `--publish ENTITY/PROJECT` saves it to W&B."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arae.errors import UserError
from arae.reporting.collect import completed
from arae.reporting.comparison import Key, Row, plateau_notes, rows, run_ids
from arae.reporting.dashboard_page import write_page
from arae.reporting.render import markdown_table, pct
from arae.reporting.summary import label

GROUP_BY = "attack.paper_name"  # a config key every run logs (conf/attack/*.yaml): the paper's name


def table_markdown(found: list[Row]) -> str:
    header = ["data set", "normal classes", "variant", "epochs", "seeds", "ours: last-K AUROC", "paper", "Δ"]
    lines = []
    for r in found:
        ours = pct(r.ours) + ("" if r.ours_std is None else f" ± {r.ours_std:.1f}")
        diff = None if r.ours is None or r.paper is None else r.ours - r.paper
        epochs = f"{r.epochs}" + (f" (paper: {r.paper_epochs})" if r.paper_epochs else "")
        lines.append([r.dataset, label(list(r.classes)), r.variant, epochs, ", ".join(map(str, r.seeds)), ours,
                      pct(r.paper), pct(diff, signed=True)])
    return "\n".join(markdown_table(header, lines))


def class_blocks(key: Key, ids: list[str], entity: str, project: str) -> list:
    import wandb_workspaces.reports.v2 as wr
    from wandb_workspaces import expr

    dataset, classes = key
    title = f"{dataset}, normal class{'es' if len(classes) > 1 else ''} {label(list(classes))}"
    if not ids:
        return [wr.H2(title), wr.P("No run of these logged to W&B (logger=csv): see the local page.")]
    runset = wr.Runset(entity=entity, project=project, name=title, filters=[expr.Metric("ID").isin(ids)],
                       groupby=[f"config.{GROUP_BY}"])
    by_variant = {"groupby": wr.Config(GROUP_BY), "groupby_aggfunc": "mean", "groupby_rangefunc": "stddev"}
    panels = [
        wr.LinePlot(title=f"AUROC per epoch: {title}", x="epoch", y=["val/auroc"], title_x="epoch",
                    title_y="AUROC (evaluation split)", **by_variant),
        wr.LinePlot(title=f"training loss: {title}", x="epoch", y=["train/loss"], title_x="epoch", **by_variant),
    ]
    return [wr.H2(title), wr.PanelGrid(runsets=[runset], panels=panels)]


def build_report(sweep_dir: Path, entity: str = "", project: str = "arae"):
    """The report (a wandb_workspaces Report). Without an entity nothing in it needs the network: it only
    looks up its project when saved (`--publish`)."""
    import wandb_workspaces.reports.v2 as wr

    jobs = completed(sweep_dir)
    if not jobs:
        raise UserError(f"no completed results.json under {sweep_dir}: point arae-dashboard at a sweep folder")
    found = rows(jobs)
    ids = run_ids(jobs)
    logged = sum(len(v) for v in ids.values())
    blocks = [
        wr.MarkdownBlock(
            f"{len(jobs)} completed run(s) under `{sweep_dir}` ({logged} logged to W&B). AUROC in %, anomaly = "
            "positive class; runs are grouped by the paper's name of their variant (config "
            f"`{GROUP_BY}`): mean over seeds, the band one standard deviation."
        ),
        wr.H2("AUROC over the last epochs, per class and variant, beside the paper"),
        wr.MarkdownBlock(table_markdown(found)),
        *(wr.CalloutBlock(text=note) for note in plateau_notes(found)),
    ]
    keys = sorted({(r.dataset, r.classes) for r in found})
    for key in keys:
        blocks += class_blocks(key, ids.get(key, []), entity, project)
    return wr.Report(
        entity=entity, project=project, title=f"ARAE variants: {sweep_dir.name}"[:128],
        description="DAE, ARAE, ARAE-A and ARAE-R per normal class, beside the paper (arae-dashboard).",
        blocks=blocks,
    )


def report_json(report) -> str:
    """The report's validated model (what W&B stores), as JSON."""
    return report._to_model().model_dump_json(by_alias=True, exclude_none=True, indent=2)


def publish(report, target: str):
    """Save the report into ENTITY/PROJECT of W&B: needs a key (`wandb login` or WANDB_API_KEY) and the
    runs synced there first (`wandb sync <job>/wandb/offline-run-*`)."""
    entity, _, project = target.partition("/")
    if not entity or not project:
        raise UserError(f"--publish takes ENTITY/PROJECT, got {target!r}")
    report.entity, report.project = entity, project
    for block in report.blocks:
        for runset in getattr(block, "runsets", []):
            runset.entity, runset.project = entity, project
    try:
        return report.save()
    except Exception as err:  # no key, no network, no such project: W&B's own message says which
        raise UserError(
            f"could not save the report to {target}: {err}. Set a W&B key (wandb login or WANDB_API_KEY) and sync "
            f"the runs to that project first (wandb sync <job>/wandb/offline-run-*)"
        ) from err


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arae-dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, help="the report's JSON (default: SWEEP_DIR/dashboard.json); the "
                                                 "local page is written beside it (.html, .png)")
    parser.add_argument("--project", default="arae", help="the W&B project the runs logged to (default: arae)")
    parser.add_argument("--publish", metavar="ENTITY/PROJECT", help="save the report to W&B (needs a key, and the "
                                                                   "runs synced to that project)")
    args = parser.parse_args(argv)
    out = args.out or args.sweep_dir / "dashboard.json"
    try:
        report = build_report(args.sweep_dir, project=args.project)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report_json(report))
        page = write_page(completed(args.sweep_dir), out.with_suffix(".html"), title=report.title)
        print(f"wrote the W&B report's model to {out} and the local page to {page}")
        if args.publish:
            saved = publish(report, args.publish)
            print(f"saved the report: {saved.url}")
        else:
            print("To publish it: sync the runs (wandb sync <job>/wandb/offline-run-*), then run again with "
                  "--publish ENTITY/PROJECT (a W&B key set: wandb login or WANDB_API_KEY).")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
