"""`arae-score CKPT PATHS...`: anomaly score and verdict per image file, printed and written as CSV."""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arae.errors import UserError
from arae.results import check_writable_folder

COLUMNS = ("path", "score", "threshold", "verdict", "converted")


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number; give a score such as 0.5")
    return value


def threshold(text: str) -> float:
    """Scores are sums of squares (>= 0): a negative threshold would call every image an anomaly."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is below 0; scores are >= 0, so give a threshold >= 0 such as 0.5")
    return value


def csv_file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name, e.g. --csv {path / 'scores.csv'}")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="arae-score",
        description="Score image files with a trained detector: anomaly score (sum of squared reconstruction "
        "errors) and verdict (anomaly when the score is above the threshold stored in the checkpoint).",
    )
    parser.add_argument("checkpoint", help="a .ckpt file written by train.py, or its run folder")
    parser.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or glob patterns")
    parser.add_argument("--csv", type=csv_file, default=Path("scores.csv"), help="where to write the CSV (default: scores.csv)")
    parser.add_argument("--threshold", type=threshold, default=None, help="use this threshold instead of the stored one")
    parser.add_argument("--strict", action="store_true", help="reject images whose size or colour mode differ from the model's instead of converting them")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")
    parser.add_argument("--quiet", action="store_true", help="write the CSV without printing the table")
    return parser.parse_args(argv)


def score_files(args: argparse.Namespace) -> list[dict]:
    from arae.detector import collect_paths, load_detector

    detector = load_detector(args.checkpoint, device=args.device)
    if args.threshold is not None:
        detector.threshold = float(args.threshold)
    paths = collect_paths(args.paths)
    images, notes = detector.load(paths, strict=args.strict)
    scores = detector.score(images)
    return [
        {
            "path": str(path),
            "score": f"{float(score):.6g}",
            "threshold": f"{detector.threshold:.6g}",
            "verdict": "anomaly" if float(score) > detector.threshold else "normal",
            "converted": note,
        }
        for path, score, note in zip(paths, scores, notes)
    ]


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def print_rows(rows: list[dict], console: Console) -> None:
    table = Table(*COLUMNS)
    for row in rows:
        style = "red" if row["verdict"] == "anomaly" else None
        table.add_row(*(row[c] for c in COLUMNS), style=style)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=160)
    try:
        # before minutes of scoring, not after
        check_writable_folder(args.csv.parent, f"give --csv a file in a folder you can write to (not {args.csv})")
        rows = score_files(args)
    except UserError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        return 2
    write_csv(rows, args.csv)
    if not args.quiet:
        print_rows(rows, console)
    anomalies = sum(row["verdict"] == "anomaly" for row in rows)
    console.print(f"{len(rows)} images, {anomalies} anomalous; CSV written to {args.csv}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
