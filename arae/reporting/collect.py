"""Every job under a folder of runs: the results.json it left, or the fact that it left none."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arae.results import RESULTS_FILE, read_results

COMPLETED, FAILED, MISSING = "completed", "failed", "missing"


@dataclass(frozen=True)
class Job:
    folder: Path
    status: str  # completed | failed | missing
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.results.get("run_name") or self.folder.name

    @property
    def error(self) -> str:
        if self.status == MISSING:
            return "no results.json: the job is still running, or was killed before it could write one"
        return self.results.get("error", "")

    def get(self, key: str, default: Any = None) -> Any:
        """A value by dotted key, looked up in results.json first and then in its resolved config."""
        for source in (self.results, self.results.get("config") or {}):
            value = _dotted(source, key)
            if value is not None:
                return value
        return default


def _dotted(mapping: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(mapping, dict) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


def _read(path: Path) -> Job:
    try:
        results = read_results(path)
    except (OSError, ValueError) as err:
        return Job(path.parent, FAILED, {"error": f"unreadable results.json: {err}"})
    status = results.get("status")
    return Job(path.parent, COMPLETED if status == COMPLETED else FAILED, results)


def collect(*roots: Path) -> list[Job]:
    """All jobs below the folders `roots`: one per results.json, plus one per Hydra job folder that has
    none. The one reader of folders of runs: reports, the fidelity study, the dashboard and the analyses."""
    jobs: dict[Path, Job] = {}
    for root in map(Path, roots):
        jobs.update({p.parent: _read(p) for p in sorted(root.rglob(RESULTS_FILE)) if ".submitit" not in p.parts})
        for hydra_dir in sorted(root.rglob(".hydra")):
            folder = hydra_dir.parent
            if folder not in jobs and ".submitit" not in folder.parts:
                jobs[folder] = Job(folder, MISSING)
    return [jobs[k] for k in sorted(jobs)]


def completed(*roots: Path) -> list[Job]:
    """The jobs below `roots` that completed."""
    return [job for job in collect(*roots) if job.status == COMPLETED]
