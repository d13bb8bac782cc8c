"""`arae-analyze`: the paper's robustness table and figures from trained checkpoints.

    arae-analyze robustness CKPT...        Table 5: AUROC clean and with PGD-attacked normal test images
    arae-analyze reconstructions CKPT...   Figure 1: inputs and each model's reconstructions
    arae-analyze fpr RUN_FOLDER...         Figure 5: FPR at 99.5 % TPR per class and variant (results.json)
    arae-analyze occlusion CKPT...         Figure 6: occlusion-1 saliency beside the reconstructions
    arae-analyze minima CKPT...            Figure 7: what the reconstruction error descends to from noise
    arae-analyze all RUN_FOLDER            all of the above for the checkpoints of one normal class

`all` draws each figure with the paper's models when the folder holds them all (Figure 1: DAE and ARAE-A;
Figures 6 and 7: DAE and ARAE), else with every checkpoint of the class; Table 5 takes every checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arae.errors import DataError, UserError
from arae.results import write_json_atomic

console = Console(width=140)


# -- loading -------------------------------------------------------------------------------------------
def load(args) -> tuple[list, list[str]]:
    from arae.analysis.data import same_split
    from arae.variants import display_name
    from arae.detector import load_detector

    detectors = [load_detector(c, device=args.device) for c in args.checkpoints]
    same_split(detectors)
    names = args.names or [display_name(d.metadata) for d in detectors]
    if len(names) != len(detectors):
        raise DataError(f"--names gives {len(names)} names for {len(detectors)} checkpoints")
    return detectors, names


def test_data(args, detectors):
    from arae.analysis.data import test_split

    return test_split(detectors[0], args.data_root)


def finish(args, paths: list[Path]) -> None:
    for path in paths:
        console.print(f"wrote {path}", highlight=False)
    if args.wandb:
        from arae.analysis.plotting import log_to_wandb

        analysed = getattr(args, "checkpoints", None) or []
        log_to_wandb([p for p in paths if p.suffix == ".png"], Path(args.out), analysed, name=f"analysis-{args.command}")


# -- commands ------------------------------------------------------------------------------------------
def robustness(args) -> list[Path]:
    from arae.analysis.robustness import robustness as evaluate

    detectors, names = load(args)
    images, labels, _ = test_data(args, detectors)
    reports = []
    for detector, name in zip(detectors, names):
        report = evaluate(detector, images, labels, args.eps, args.steps, args.seed, args.objective)
        reports.append({**report, "name": name})
    columns = list(reports[0]["results"])
    table = Table("model", *(f"AUROC {c}" for c in columns), title=f"Robustness: L-inf PGD ({args.steps} steps, objective {args.objective}) on the normal test images")
    for report in reports:
        table.add_row(report["name"], *(f"{report['results'][c]['auroc']:.4f}" for c in columns))
    console.print(table)
    out = Path(args.out)
    summary = {"epsilons": args.eps, "steps": args.steps, "objective": args.objective, "models": reports}
    json_path = write_json_atomic(out / "robustness.json", summary)
    csv_path = out / "robustness.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "checkpoint", *(f"auroc_{c}" for c in columns), *(f"normal_score_{c}" for c in columns)])
        for r in reports:
            res = r["results"]
            writer.writerow([r["name"], r["checkpoint"], *(f"{res[c]['auroc']:.6f}" for c in columns), *(f"{res[c]['normal_score']:.4f}" for c in columns)])
    return [json_path, csv_path]


def reconstructions(args) -> list[Path]:
    from arae.analysis import reconstructions as fig1
    from arae.analysis.plotting import save

    detectors, names = load(args)
    images, labels, classes = test_data(args, detectors)
    chosen = images[fig1.pick_examples(labels, args.n_normal, args.n_anomalous, classes, args.anomalous_class)]
    return [save(fig1.figure(detectors, chosen, names), Path(args.out) / "figure1_reconstructions.png")]


def fpr(args) -> list[Path]:
    from arae.analysis import fpr as fig5
    from arae.analysis.plotting import save

    table = fig5.fpr_table(args.runs)
    rows = fig5.as_rows(table)
    csv_path = Path(args.out) / "figure5_fpr.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return [save(fig5.figure(table), Path(args.out) / "figure5_fpr.png"), csv_path]


def occlusion(args) -> list[Path]:
    from arae.analysis import occlusion as fig6
    from arae.analysis.plotting import save
    from arae.analysis.reconstructions import pick_examples

    detectors, names = load(args)
    images, labels, _ = test_data(args, detectors)
    chosen = fig6.add_noise(images[pick_examples(labels, args.n_images, 0)], args.noise, args.seed)
    fig = fig6.figure([d.net for d in detectors], names, chosen)
    return [save(fig, Path(args.out) / "figure6_occlusion.png")]


def minima(args) -> list[Path]:
    from arae.analysis import minima as fig7
    from arae.analysis.plotting import image_grid, save

    detectors, names = load(args)
    starts = fig7.noise_starts(args.starts, detectors[0].image_shape, args.seed)
    rows = [starts, *(fig7.descend(d.net, starts, args.descent_steps, args.lr) for d in detectors)]
    title = f"Inputs at local minima of the reconstruction error ({args.descent_steps} Adam steps from noise)"
    fig = image_grid(rows, ["noise start", *names], title=title)
    return [save(fig, Path(args.out) / "figure7_local_minima.png")]


def checkpoints_of_class(folder: Path, normal_class: int) -> dict[Path, str]:
    """Checkpoints under a sweep folder whose run had exactly this normal class, sorted by path, with the
    paper's names of their models."""
    from arae.reporting.collect import completed
    from arae.variants import display_name

    found = {}
    for job in completed(folder):
        ckpt = job.folder / "checkpoints" / "last.ckpt"
        if job.results.get("normal_classes") == [normal_class] and ckpt.is_file():
            found[ckpt] = display_name(job.results)
    if not found:
        raise DataError(f"no completed run with normal class {normal_class} and a checkpoint under {folder}")
    return found


def paper_models(found: dict[Path, str], wanted: tuple[str, ...] | None) -> list[Path]:
    """The checkpoints of the paper's models of a figure, in the paper's order, when all are there; else all."""
    if wanted and all(name in found.values() for name in wanted):
        return [ckpt for name in wanted for ckpt, model in found.items() if model == name]
    if wanted:
        console.print(f"not all of {', '.join(wanted)} found; drawing every model", highlight=False)
    return list(found)


def run_all(args) -> list[Path]:
    from arae.analysis import minima as fig7
    from arae.analysis import occlusion as fig6
    from arae.analysis import reconstructions as fig1

    found = checkpoints_of_class(Path(args.runs[0]), args.normal_class)
    paths = []
    for command, wanted in ((robustness, None), (reconstructions, fig1.PAPER_MODELS), (occlusion, fig6.PAPER_MODELS),
                            (minima, fig7.PAPER_MODELS), (fpr, None)):
        args.checkpoints = paper_models(found, wanted)
        paths += command(args)
    return paths


# -- argument parsing ----------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="arae-analyze", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = main.add_subparsers(dest="command", required=True)

    def command(name, func, help, checkpoints=True, runs=False):
        p = sub.add_parser(name, help=help, description=help)
        if checkpoints:
            p.add_argument("checkpoints", nargs="+", help=".ckpt files or run folders (same data set and normal class)")
            p.add_argument("--names", nargs="+", help="labels of the models, in order (default: the paper's names of their attacks, e.g. DAE, ARAE)")
        if runs:
            p.add_argument("runs", nargs="+", help="folders searched recursively for results.json (and checkpoints)")
        p.add_argument("--out", default="figures", help="output folder (default: figures)")
        p.add_argument("--data-root", help="data root (default: ARAE_DATA_DIR, else the one used in training)")
        p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
        p.add_argument("--seed", type=int, default=0, help="seed of random starts and noise (default: 0)")
        p.add_argument("--wandb", action="store_true", help="also log the PNGs to W&B (offline unless WANDB_MODE=online)")
        p.set_defaults(func=func, names=None)
        return p

    def attack_options(p):
        p.add_argument("--eps", type=float, nargs="+", default=[0.05, 0.1], help="L-inf radii (paper: 0.05 0.1)")
        p.add_argument("--steps", type=int, default=40, help="PGD steps; step size 2.5*eps/steps (default: 40)")
        p.add_argument(
            "--objective", choices=["score", "clean"], default="score",
            help="maximise ||x'-AE(x')||^2, the attacked image's own score (default), or ||x-AE(x')||^2 (ARAE-R's)",
        )  # fmt: skip

    def example_options(p):
        p.add_argument("--n-normal", type=int, default=6, help="normal test images shown (default: 6)")
        p.add_argument("--n-anomalous", type=int, default=6, help="anomalous test images shown (default: 6)")
        p.add_argument(
            "--anomalous-class", type=int, default=None,
            help="take the anomalous images from this class only (paper's Figure 1: 1, models of 8s; default: any)",
        )  # fmt: skip

    def occlusion_options(p):
        p.add_argument("--n-images", type=int, default=5, help="normal test images (default: 5)")
        p.add_argument("--noise", type=float, default=0.4, help="uniform noise in [0, NOISE] added (paper: 0.4; 0: none)")

    def minima_options(p):
        p.add_argument("--starts", type=int, default=8, help="noise starts (default: 8)")
        p.add_argument("--descent-steps", type=int, default=500, help="Adam steps (default: 500)")
        p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default: 0.01)")

    attack_options(command("robustness", robustness, "Table 5: AUROC with the normal test images replaced by PGD examples maximising their reconstruction error"))
    example_options(command("reconstructions", reconstructions, "Figure 1: inputs (normal, anomalous) and the reconstructions of each model"))
    command("fpr", fpr, "Figure 5: FPR at 99.5%% TPR per normal class and variant, from the results.json files of runs", checkpoints=False, runs=True)
    occlusion_options(command("occlusion", occlusion, "Figure 6: occlusion-1 saliency maps beside the reconstructions"))
    minima_options(command("minima", minima, "Figure 7: inputs at local minima of the reconstruction error, descended from uniform noise"))
    everything = command("all", run_all, "Table 5 and Figures 1, 5, 6, 7 from a sweep folder (checkpoints of one normal class)", checkpoints=False, runs=True)
    everything.add_argument("--normal-class", type=int, default=8, help="the class whose checkpoints are compared (default: 8)")
    for add in (attack_options, example_options, occlusion_options, minima_options):
        add(everything)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        paths = args.func(args)
    except UserError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        return 2
    finish(args, paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
