"""`python -m arae.report DIR` (or `arae-report DIR`): every results.json below DIR as one report.

Without --paper: completed jobs grouped by --by keys, mean ± std of --metric over each group's jobs
(seeds). With --paper table6 (or table2): our AUROC beside the paper's, per column and mean, per budget;
with --paper table1, table3, table4, table5 or figure4: that table's rows beside the paper's values.
Writes NAME.md, NAME.csv and NAME.png into --out (default DIR); failed jobs and job folders without a
results.json are listed in the report and on stderr, never a crash.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arae.errors import UserError
from arae.reporting import collect, compare, group_jobs, paper_table
from arae.reporting.collect import COMPLETED, Job
from arae.reporting.data_tables import TABLES as DATA_TABLES
from arae.reporting.data_tables import write as write_data_table
from arae.reporting.paper import table_names
from arae.reporting.plot import plot_groups, plot_paper
from arae.reporting.render import one_line, paper_csv, paper_markdown, summary_csv, summary_markdown
from arae.reporting.summary import DEFAULT_KEYS, DEFAULT_METRIC


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="arae-report", description=__doc__.split("\n\n")[0])
    p.add_argument("dir", type=Path, help="a folder of runs, e.g. multirun_outputs/table6 (searched recursively)")
    p.add_argument("--paper", choices=table_names(), help="set the results beside this table of the paper")
    p.add_argument("--by", default=",".join(DEFAULT_KEYS),
                   help="comma-separated keys to group by: results.json fields or dotted config keys "
                        "(e.g. attack,normal_classes,config.trainer.max_epochs); default %(default)s")
    p.add_argument("--metric", default=DEFAULT_METRIC,
                   help="auroc_last (mean AUROC of the last K epochs, the paper's measure) or a dotted "
                        "results.json key such as test.auroc; default %(default)s")
    p.add_argument("--out", type=Path, help="where to write the report (default: DIR)")
    p.add_argument("--name", help="file name stem of the report (default: the table, or 'report')")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when a job failed or left no results")
    return p


def write_paper_report(key: str, jobs: list[Job], root: Path, out: Path, name: str, metric: str) -> list[Path]:
    """Write the report; return the files written, the Markdown first."""
    table = paper_table(key)
    cells, budgets = compare(table, jobs, metric)
    budget_list = sorted({c.epochs for c in cells})
    plots = {}
    for epochs in budget_list:
        file = f"{name}.png" if epochs == budget_list[-1] else f"{name}-epochs-{epochs}.png"
        plot_paper(out / file, f"{table.title} — ours at {epochs} epoch(s)", [c for c in cells if c.epochs == epochs])
        plots[epochs] = file
    paper_epochs = {e: _paper_epochs(jobs, e) for e in budget_list}
    md = paper_markdown(table, cells, budgets, jobs, root, plots, paper_epochs)
    (out / f"{name}.md").write_text(md)
    paper_csv(out / f"{name}.csv", cells, budgets)
    return [out / f"{name}.md", out / f"{name}.csv", *(out / file for file in plots.values())]


def _paper_epochs(jobs: list[Job], epochs: int) -> str | None:
    values = sorted({j.get("dataset.paper_epochs") for j in jobs if j.status == COMPLETED and j.get("epochs") == epochs}
                    - {None})
    return "/".join(map(str, values)) or None


def write_summary_report(keys: tuple[str, ...], jobs: list[Job], root: Path, out: Path, name: str, metric: str) -> list[Path]:
    """Write the report; return the files written, the Markdown first."""
    groups = group_jobs(jobs, keys, metric)
    plot = None
    if any(g.mean is not None for g in groups):
        plot = plot_groups(out / f"{name}.png", metric, groups).name
    (out / f"{name}.md").write_text(summary_markdown(groups, keys, metric, jobs, root, plot))
    summary_csv(out / f"{name}.csv", groups, keys, metric)
    return [out / f"{name}.md", out / f"{name}.csv", *([out / plot] if plot else [])]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.dir.is_dir():
        print(f"error: {args.dir} is not a folder; give the folder a multirun wrote, e.g. multirun_outputs/table6",
              file=sys.stderr)
        return 2
    jobs = collect(args.dir)
    if not jobs:
        print(f"error: no runs under {args.dir} (no results.json and no job folders); give the folder a sweep "
              "wrote, e.g. multirun_outputs/table6. Nothing was written.", file=sys.stderr)
        return 2
    out = args.out or args.dir
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or args.paper or "report"
    try:
        if args.paper in DATA_TABLES:
            written = write_data_table(args.paper, jobs, args.dir, out, name)
        elif args.paper:
            written = write_paper_report(args.paper, jobs, args.dir, out, name, args.metric)
        else:
            keys = tuple(k.strip() for k in args.by.split(",") if k.strip())
            written = write_summary_report(keys, jobs, args.dir, out, name, args.metric)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(written[0].read_text())
    print("wrote " + ", ".join(str(path) for path in written))
    bad = [j for j in jobs if j.status != COMPLETED]
    for job in bad:
        print(f"{job.status}: {job.name} ({job.folder}): {one_line(job.error)}", file=sys.stderr)
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
