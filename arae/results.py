"""Each run's outcome as one `results.json`, written atomically so that no reader sees half a file."""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from arae.errors import StorageError

RESULTS_FILE = "results.json"
TEMP_SUFFIX = ".tmp"  # write_atomic's temporary files: .<name>.<random>.tmp beside their target
# The paper's measure, one fixed key: {"k": evaluations within the last `last_k` epochs, "mean": their mean
# test AUROC, "std": their sample std (arae/stats.py)}.
LAST_K = "auroc_last_k"


# Attacks that do not use the model (no adversary): their runs have no crafting schedule, steps or attack
# precision to speak of. By attack config name (conf/attack/).
NON_ADVERSARIAL = ("none", "noise")
# The crafting schedules by their classes (conf/crafting/).
SCHEDULES = {"arae.training.EpochCrafting": "epoch", "arae.training.BatchCrafting": "batch"}


def _attack_steps(adversary: dict) -> int | dict[str, int] | None:
    """PGD steps of an attack: an int, {member: steps} for a union, None where it takes no steps."""
    members = adversary.get("members")
    if isinstance(members, dict):
        steps = {name: m.get("steps") for name, m in members.items() if isinstance(m, dict) and "steps" in m}
        return steps or None
    return adversary.get("steps")


def run_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What a report needs to know of a run, from its resolved config: results.json records it as
    `settings`, so that reports read these fields instead of working them out from class names."""
    attack = config.get("attack") or {}
    adversary = attack.get("adversary") or {}
    crafting = config.get("crafting") or {}
    model = config.get("model") or {}
    name = attack.get("name")
    adversarial = name not in NON_ADVERSARIAL
    return {
        "variant": attack.get("paper_name") or name,  # an attack of your own without a paper_name: its name
        "attack": name,
        "adversarial": adversarial,
        "crafting": SCHEDULES.get(str(crafting.get("_target_")), crafting.get("_target_")),
        "attack_steps": _attack_steps(adversary) if adversarial else None,
        "attack_precision": str(crafting.get("autocast") or "float32") if adversarial else None,
        "training_precision": str((config.get("trainer") or {}).get("precision") or "32-true"),
        "activation": model.get("activation"),
        "output_activation": model.get("output_activation"),
        "batch_size": (config.get("dataset") or {}).get("batch_size"),
        "lr": (config.get("optimizer") or {}).get("lr"),
        "gamma": attack.get("gamma"),
        "block_gamma": attack.get("block_gamma"),
        "leak_weight": attack.get("leak_weight"),
        "noise_clip": adversary.get("clip") if name == "noise" else None,
        "epochs": (config.get("trainer") or {}).get("max_epochs"),
    }


def settings_of(results: dict[str, Any]) -> dict[str, Any]:
    """A results.json's recorded `settings` (runs written before they were recorded, and a checkpoint's
    detector metadata: from its recorded config)."""
    return results.get("settings") or run_settings(results.get("config") or {})


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


def _os_error(err: BaseException) -> OSError | None:
    """The OSError behind `err`: torch.save reports a failed write (a full disk) as a RuntimeError whose
    context is the OSError."""
    while err is not None and not isinstance(err, OSError):
        err = err.__cause__ or err.__context__
    return err


def storage_error(err: OSError, doing: str) -> StorageError:
    """One line naming what failed, e.g. "no space left on device writing /run/checkpoints/last.ckpt"."""
    reason = (err.strerror or str(err)).lower()
    return StorageError(f"{reason} {doing}")


def check_writable_folder(folder: Path, fix: str) -> None:
    """That files can be made in `folder`, or where it would be created (its nearest existing parent): else a
    StorageError naming the folder, the reason and `fix`. Leaves nothing behind."""
    folder = Path(folder).absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file, not a folder")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise StorageError(f"cannot write to {folder} ({err.strerror or err}); {fix}") from None


def write_atomic(path: Path, write: Callable[[BinaryIO], None], readable: bool = True) -> Path:
    """Calls `write` on a temporary file beside `path`, syncs it, then renames it over `path`: a reader, or a
    run killed midway, sees the old file or the new one, never half of one. `readable`: mode 0666 less the
    umask (mkstemp makes files private). A write the file system refuses (a full disk, read-only) is a
    StorageError naming `path`; the old file is left as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as err:
        raise storage_error(err, f"writing {path}") from err
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
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        cause = _os_error(err) if isinstance(err, Exception) else None
        if cause is not None:
            raise storage_error(cause, f"writing {path}") from err
        raise
    return path


def remove_partial_writes(folder: Path) -> list[Path]:
    """Delete the temporary files that writes killed midway (SIGKILL) left in `folder` (not below it); only
    for a caller that knows no other process writes there (arae.resume.job_lock). Returns what it removed."""
    stale = [p for p in Path(folder).glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_json_atomic(path: Path, payload: dict[str, Any]) -> Path:
    text = json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n"
    return write_atomic(path, lambda handle: handle.write(text.encode()))


def read_results(path: Path) -> dict[str, Any]:
    """A results.json (older runs' files are brought to today's format by scripts/migrate_results.py)."""
    with open(path) as handle:
        return json.load(handle)
