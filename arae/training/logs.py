"""csv/metrics.csv as one record of the whole run, also across resumes: Lightning's CSVLogger deletes the
file a new run finds, so a resumed run kept only the rows after its checkpoint."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from lightning_fabric.loggers.logger import rank_zero_experiment
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter

from arae.results import write_atomic


def _epoch(row: dict[str, str]) -> float:
    """A row's epoch (counted from 1, as everywhere in arae); rows without one (the final ones, logged after
    the test) sort last."""
    value = row.get("epoch") or ""
    return float(value) if value else math.inf


def keep_rows_before(path: Path, epoch: int) -> list[str]:
    """Keep the rows of `path` (a metrics.csv) of epochs 1..`epoch`, which a run resumed after `epoch`
    epochs does not train again, and return its header. Rows of later epochs (trained after the
    checkpoint, before the run was stopped) and the final rows go: the resumed run writes them anew."""
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [row for row in reader if _epoch(row) <= epoch]
        header = list(reader.fieldnames or [])
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, lambda handle: handle.write(text.getvalue().encode()))
    return header


class _ContinuedWriter(ExperimentWriter):
    """Lightning's writer, but continuing the metrics.csv it finds (trimmed to epochs 1..`before_epoch`, the
    ones the checkpoint holds) instead of deleting it."""

    def __init__(self, log_dir: str, before_epoch: int) -> None:
        self.before_epoch = before_epoch
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        self.metrics_keys = keep_rows_before(Path(self.metrics_file_path), self.before_epoch)


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSVLogger (conf/logger/csv.yaml) that a resumed run continues: call `continue_after` with
    the epochs its checkpoint holds before anything is logged. A kill in the moment between a checkpoint
    and its epoch's row (Lightning writes the row just after the epoch-end callbacks) loses that one row."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._continue_after: int | None = None

    def continue_after(self, epochs: int) -> None:
        self._continue_after = int(epochs)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None and self._continue_after is not None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuedWriter(self.log_dir, self._continue_after)
        return super().experiment
