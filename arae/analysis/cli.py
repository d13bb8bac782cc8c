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
    from arae.detector import load_detector
    from arae.results import settings_of

    detectors = [load_detector(c, device=args.device) for c in args.checkpoints]
    same_split(detectors)
    names = args.names or [settings_of(d.metadata)["variant"] for d in detectors]
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
    fig = fig6.figure([d.net for d in detectors], names, chosen, args.patch)
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
    from arae.results import settings_of

    found = {}
    for job in completed(folder):
        ckpt = job.folder / "checkpoints" / "last.ckpt"
        if job.results.get("normal_classes") == [normal_class] and ckpt.is_file():
            found[ckpt] = settings_of(job.results)["variant"]
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
def parser(settings=None) -> argparse.ArgumentParser:
    """The command line; each option of a command defaults to `settings` (conf/analysis/default.yaml)."""
    from arae.analysis.settings import DEFAULT, load_settings

    s = settings if settings is not None else load_settings()
    main = argparse.ArgumentParser(prog="arae-analyze", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = main.add_subparsers(dest="command", required=True)

    def command(name, func, help, checkpoints=True, runs=False):
        p = sub.add_parser(name, help=help, description=help)
        if checkpoints:
            p.add_argument("checkpoints", nargs="+", help=".ckpt files or run folders (same data set and normal class)")
            p.add_argument("--names", nargs="+", help="labels of the models, in order (default: the paper's names of their attacks, e.g. DAE, ARAE)")
        if runs:
            p.add_argument("runs", nargs="+", help="folders searched recursively for results.json (and checkpoints)")
        p.add_argument("--config", default=DEFAULT, help="the settings every option below defaults to: a file of conf/analysis/ by name, or a YAML file (default: %(default)s)")
        p.add_argument("--out", default="figures", help="output folder (default: figures)")
        p.add_argument("--data-root", help="data root (default: ARAE_DATA_DIR, else the one used in training)")
        p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
        p.add_argument("--seed", type=int, default=s.seed, help="seed of random starts and noise (default: %(default)s)")
        p.add_argument("--wandb", action="store_true", help="also log the PNGs to W&B (offline unless WANDB_MODE=online)")
        p.set_defaults(func=func, names=None)
        return p

    def attack_options(p):
        r = s.robustness
        p.add_argument("--eps", type=float, nargs="+", default=list(r.eps), help="L-inf radii (default: %(default)s; paper: 0.05 0.1)")
        p.add_argument("--steps", type=int, default=r.steps, help="PGD steps; step size 2.5*eps/steps (default: %(default)s)")
        p.add_argument(
            "--objective", choices=["score", "clean"], default=r.objective,
            help="maximise ||x'-AE(x')||^2, the attacked image's own score (score), or ||x-AE(x')||^2 (clean, ARAE-R's) (default: %(default)s)",
        )  # fmt: skip

    def example_options(p):
        r = s.reconstructions
        p.add_argument("--n-normal", type=int, default=r.n_normal, help="normal test images shown (default: %(default)s)")
        p.add_argument("--n-anomalous", type=int, default=r.n_anomalous, help="anomalous test images shown (default: %(default)s)")
        p.add_argument(
            "--anomalous-class", type=int, default=r.anomalous_class,
            help="take the anomalous images from this class only (paper's Figure 1: 1, models of 8s; default: %(default)s = any)",
        )  # fmt: skip

    def occlusion_options(p):
        r = s.occlusion
        p.add_argument("--n-images", type=int, default=r.n_images, help="normal test images (default: %(default)s)")
        p.add_argument("--noise", type=float, default=r.noise, help="uniform noise in [0, NOISE] added (default: %(default)s; paper: 0.4; 0: none)")
        p.add_argument("--patch", type=int, default=r.patch, help="side of the square set to black around each pixel (default: %(default)s; paper: 1)")

    def minima_options(p):
        r = s.minima
        p.add_argument("--starts", type=int, default=r.starts, help="noise starts (default: %(default)s)")
        p.add_argument("--descent-steps", type=int, default=r.descent_steps, help="Adam steps (default: %(default)s)")
        p.add_argument("--lr", type=float, default=r.lr, help="Adam learning rate (default: %(default)s)")

    attack_options(command("robustness", robustness, "Table 5: AUROC with the normal test images replaced by PGD examples maximising their reconstruction error"))
    example_options(command("reconstructions", reconstructions, "Figure 1: inputs (normal, anomalous) and the reconstructions of each model"))
    command("fpr", fpr, "Figure 5: FPR at 99.5%% TPR per normal class and variant, from the results.json files of runs", checkpoints=False, runs=True)
    occlusion_options(command("occlusion", occlusion, "Figure 6: occlusion-1 saliency maps beside the reconstructions"))
    minima_options(command("minima", minima, "Figure 7: inputs at local minima of the reconstruction error, descended from uniform noise"))
    everything = command("all", run_all, "Table 5 and Figures 1, 5, 6, 7 from a sweep folder (checkpoints of one normal class)", checkpoints=False, runs=True)
    everything.add_argument("--normal-class", type=int, default=s.all.normal_class, help="the class whose checkpoints are compared (default: %(default)s)")
    for add in (attack_options, example_options, occlusion_options, minima_options):
        add(everything)
    return main


def settings_of(argv: list[str] | None):
    """The settings named by --config on the command line (conf/analysis/default.yaml without it)."""
    from arae.analysis.settings import DEFAULT, load_settings

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=DEFAULT)
    known, _ = pre.parse_known_args(argv)
    return load_settings(known.config)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser(settings_of(argv)).parse_args(argv)
        paths = args.func(args)
    except UserError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        return 2
    finish(args, paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
