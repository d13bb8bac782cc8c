"""Each run's outcome as one `results.json`, written atomically so that no reader sees half a file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

RESULTS_FILE = "results.json"
# The paper's measure, one fixed key: {"k": evaluations within the last `last_k` epochs, "mean": their mean
# test AUROC, "std": their sample std (arae/stats.py)}. Results written before it hold `auroc_last_50`;
# arae.reporting.collect reads those as this key.
LAST_K = "auroc_last_k"


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead, and turn tensors and tuples into plain values."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_atomic(path: Path, write: Callable[[BinaryIO], None], readable: bool = True) -> Path:
    """Calls `write` on a temporary file beside `path`, syncs it, then renames it over `path`: a reader, or a
    run killed midway, sees the old file or the new one, never half of one. `readable`: mode 0666 less the
    umask (mkstemp makes files private)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if readable:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, payload: dict[str, Any]) -> Path:
    text = json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n"
    return write_atomic(path, lambda handle: handle.write(text.encode()))


def read_results(path: Path) -> dict[str, Any]:
    """A results.json as written today, whenever it was written (see `upgrade`)."""
    with open(path) as handle:
        return upgrade(json.load(handle))


def upgrade(results: dict[str, Any]) -> dict[str, Any]:
    """Results of older runs in today's keys: `auroc_last_50` (named by `last_k`) read as `auroc_last_k`."""
    if LAST_K not in results:
        legacy = next((k for k in results if k.startswith("auroc_last_") and k.removeprefix("auroc_last_").isdigit()), None)
        if legacy is not None:
            results = {**results, LAST_K: results[legacy]}
    return results
