"""arae-dashboard's local page, for readers without W&B: the same comparison as the W&B report, as an HTML
page (the table of last-K AUROC beside the paper, the plateau notes) with a PNG of the AUROC per epoch, one
panel per data set and normal classes, one line per variant (mean over seeds)."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt

from arae.reporting.collect import Job
from arae.reporting.comparison import curves, plateau_notes, rows
from arae.reporting.render import pct
from arae.reporting.summary import label


def plot_curves(jobs: list[Job], path: Path) -> Path:
    found = curves(jobs)
    keys = sorted({(c.dataset, c.classes) for c in found}) or [("", ())]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.8), squeeze=False)
    budgets = len({c.epochs[-1] for c in found}) > 1
    for ax, key in zip(axes[0], keys):
        for c in (c for c in found if (c.dataset, c.classes) == key):
            name = f"{c.variant} ({c.epochs[-1]} epochs)" if budgets else c.variant
            ax.plot(c.epochs, c.auroc, marker="." if len(c.epochs) < 30 else None, label=f"{name}, {c.seeds} seed(s)")
        ax.set(title=f"{key[0]} {label(list(key[1]))}", xlabel="epoch", ylabel="AUROC (%)")
        if ax.lines:
            ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_page(jobs: list[Job], path: Path, title: str) -> Path:
    found = rows(jobs)
    image = plot_curves(jobs, path.with_suffix(".png"))
    header = ["data set", "normal classes", "variant", "epochs", "seeds", "ours: last-K AUROC", "paper"]
    cells = [
        [r.dataset, label(list(r.classes)), r.variant, str(r.epochs), ", ".join(map(str, r.seeds)),
         pct(r.ours) + ("" if r.ours_std is None else f" ± {r.ours_std:.1f}"), pct(r.paper)]
        for r in found
    ]
    table = "<table>\n<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>\n"
    table += "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in cells)
    notes = "".join(f"<p class=note>{html.escape(n)}</p>\n" for n in plateau_notes(found))
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:.2em .8em;text-align:left}}
tr:nth-child(even){{background:#f3f3f3}} .note{{background:#fff6d5;padding:.6em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{len(jobs)} completed run(s). AUROC in %, anomaly = positive class: each run's mean AUROC over its last K
epochs, then mean &plusmn; std over seeds; the paper's value beside it.</p>
{table}</table>
{notes}<h2>AUROC per epoch</h2>
<img src="{html.escape(image.name)}" alt="AUROC per epoch by variant">
</body></html>
"""
    path.write_text(page)
    return path
