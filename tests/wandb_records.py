"""Records of an offline W&B run, read from its transaction log (`run-<id>.wandb`) as `wandb sync` would
upload them: a LevelDB-style log of protobuf `Record`s (the wandb package no longer ships a reader)."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

HEADER = 7  # ":W&B", a 2-byte magic number, a version byte
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(data: bytes):
    position, pending = HEADER, b""
    while position + 7 <= len(data):
        if BLOCK - position % BLOCK < 7:  # a block's tail too short for a chunk header is padding
            position += BLOCK - position % BLOCK
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[position : position + 7])
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
        else:
            return


def _read(log: Path) -> list:
    from wandb.proto import wandb_internal_pb2

    found = []
    for payload in _payloads(log.read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        found.append(record)
    return found


def records(run_dir: Path, wait: float = 60.0) -> list:
    """The run's records once its log is complete (it ends with the `exit` record). wandb-core, a process of
    its own that a test process may share across runs, writes the log after `wandb.finish()` has returned:
    read too early, the last records (the test's, the final metrics, the model artifact) are missing."""
    (log,) = Path(run_dir).glob("*.wandb")
    deadline = time.monotonic() + wait
    while True:
        found = _read(log)
        if (found and found[-1].WhichOneof("record_type") == "exit") or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def history(run_dir: Path) -> list[dict]:
    """Every `run.log` call of the run, as {key: value}; a logged object (an image) as a dict of its fields."""
    rows = []
    for record in records(run_dir):
        if record.WhichOneof("record_type") != "history":
            continue
        row: dict = {}
        for item in record.history.item:
            *parents, leaf = list(item.nested_key) or [item.key]
            node = row
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = json.loads(item.value_json)
        rows.append(row)
    return rows


def artifacts(run_dir: Path) -> list:
    return [r.artifact for r in records(run_dir) if r.WhichOneof("record_type") == "artifact"]
