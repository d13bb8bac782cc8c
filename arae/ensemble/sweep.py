"""What `hydra/launcher=ensemble` (conf/hydra/launcher/ensemble.yaml, hydra_plugins/arae_ensemble_launcher/) does: the jobs of a sweep that differ only by seed and normal class train
together, up to `max_members` per process, as one ensemble (arae/ensemble/run.py).

Every job still gets its own folder, `.hydra/` configs, results.json, logs and checkpoint, exactly where
the basic launcher would put them, so reports, resume and the detector API see ordinary jobs. A job whose
folder holds its completed results is skipped; one that left an ensemble checkpoint continues from it in
the ensemble; one that left a checkpoint of a separate job (Lightning's) continues as a separate job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from arae.ensemble.member import Member
from arae.ensemble.run import train_members
from arae.errors import ConfigError
from arae.pipeline import user_error
from arae.results import RESULTS_FILE, write_json_atomic
from arae.resume import ENSEMBLE, LIGHTNING, ResumePoint, completed_results, prepare_attempt
from arae.task import JobFailed, print_summary, validation_objective
from arae.training.interruption import EXIT_INTERRUPTED, StopRequest

log = logging.getLogger(__name__)

# Settings in which members of one ensemble may differ (and those that follow from the job's folder).
MEMBER_KEYS = ("seed", "normal_class", "run_name", "callbacks", "logger", "group")


@dataclass
class Prepared:
    """A job after Hydra set up its folder: its resolved config, and whether it is done or resumes."""

    cfg: DictConfig
    output_dir: Path
    done: dict[str, Any] | None = None
    resume: ResumePoint | None = None
    log_file: str = "train.log"


def _prepare(task_cfg: DictConfig) -> Prepared:
    """The task function run under Hydra's run_job for every job: it trains nothing."""
    hydra = HydraConfig.get()
    output_dir, log_file = Path(hydra.runtime.output_dir), f"{hydra.job.name}.log"
    OmegaConf.resolve(task_cfg)  # while this job's Hydra config is current: ${hydra:...} becomes its folder
    if not task_cfg.get("skip_completed"):
        return Prepared(task_cfg, output_dir, log_file=log_file)
    done = completed_results(output_dir, task_cfg)
    if done is not None:
        return Prepared(task_cfg, output_dir, done=done, log_file=log_file)
    resume = prepare_attempt(output_dir, task_cfg, (LIGHTNING, ENSEMBLE))
    return Prepared(task_cfg, output_dir, resume=resume, log_file=log_file)


def group_key(cfg: DictConfig) -> str:
    """Jobs with the same key can share an ensemble: everything but MEMBER_KEYS is equal."""
    container = OmegaConf.to_container(cfg, resolve=True)
    return json.dumps({k: v for k, v in container.items() if k not in MEMBER_KEYS}, sort_keys=True, default=str)


def _job_folder(ret: JobReturn) -> str:
    """The job's own folder (its results.json's), not the working folder Hydra records in `working_dir`
    (the folder the command was started in: jobs do not change into their folders)."""
    try:
        return str(ret.hydra_cfg.hydra.runtime.output_dir)
    except Exception:  # the job's config did not get that far
        return str(ret.working_dir)


def _failed(ret: JobReturn, err: BaseException) -> JobReturn:
    problem = user_error(err)
    ret.status = JobStatus.FAILED
    ret.return_value = JobFailed(f"the job in {_job_folder(ret)} stopped: {problem}") if problem else err
    return ret



class EnsembleSweep:
    """The launcher's work; the Hydra plugin class only holds it (Hydra loads plugin modules in a way
    that dataclasses and postponed annotations do not survive)."""

    def __init__(self, max_members: int) -> None:
        if int(max_members) < 1:
            raise ConfigError(f"hydra.launcher.max_members must be >= 1, got {max_members}")
        self.max_members = int(max_members)
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _sweep_config(self, idx: int, overrides: Sequence[str]) -> DictConfig:
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with read_write(sweep_config), open_dict(sweep_config):
            sweep_config.hydra.job.id = idx
            sweep_config.hydra.job.num = idx
        return sweep_config

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        returns: list[JobReturn] = []
        prepared: list[Prepared | None] = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            ret = run_job(hydra_context=self.hydra_context, task_function=_prepare,
                          config=self._sweep_config(idx, overrides), job_dir_key="hydra.sweep.dir",
                          job_subdir_key="hydra.sweep.subdir")
            returns.append(ret)
            prepared.append(ret._return_value if ret.status == JobStatus.COMPLETED else None)
            if ret.status != JobStatus.COMPLETED:
                _failed(ret, ret._return_value)
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)

        groups: dict[tuple[str, int], list[int]] = {}
        separate: list[int] = []
        for i, job in enumerate(prepared):
            if job is None:
                continue
            if job.done is not None:
                print(f"skipped {job.cfg.run_name}: {job.output_dir} holds its completed results.json")
                returns[i].return_value = validation_objective(job.done, job.cfg.get("optimized_metric"))
            elif job.resume is not None and job.resume.writer == LIGHTNING:
                separate.append(i)
            else:  # members continue together from checkpoints of one epoch
                groups.setdefault((group_key(job.cfg), job.resume.epoch if job.resume else 0), []).append(i)

        for i in separate:  # continues its own Lightning checkpoint, as a separate job
            returns[i] = run_job(hydra_context=self.hydra_context, task_function=self.task_function,
                                 config=self._sweep_config(initial_job_idx + i, job_overrides[i]),
                                 job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")

        with StopRequest() as stop:
            for indices in groups.values():
                for start in range(0, len(indices), self.max_members):
                    chunk = indices[start:start + self.max_members]
                    self._train(chunk, prepared, returns, stop)
                    if stop.requested:
                        log.warning("interrupted: the members' checkpoints are saved; run the same command again "
                                    "to continue")
                        raise SystemExit(EXIT_INTERRUPTED)
        return returns

    def _train(self, chunk, prepared, returns, stop) -> None:
        members, slots = [], []
        for i in chunk:
            job = prepared[i]
            member = Member(job.cfg, job.output_dir, job.resume, job.log_file)
            try:
                member.build()
            except Exception as err:
                self._record_failure(job, err)
                _failed(returns[i], err)
                continue
            members.append(member)
            slots.append(i)
        if not members:
            return
        try:
            results = train_members(members, stop)
        except Exception as err:
            for i in slots:
                self._record_failure(prepared[i], err)
                _failed(returns[i], err)
            return
        if stop.requested:
            for member in members:
                write_json_atomic(member.output_dir / RESULTS_FILE, {
                    "status": "interrupted", "error": "stopped by SIGTERM", "run_name": member.name})
            return
        for member, i, result in zip(members, slots, results):
            if result is None:
                self._record_failure(prepared[i], RuntimeError(member.error))
                _failed(returns[i], ConfigError(member.error))
                continue
            print_summary(result)
            returns[i].status = JobStatus.COMPLETED
            returns[i].return_value = validation_objective(result, member.cfg.get("optimized_metric"))

    @staticmethod
    def _record_failure(job: Prepared, err: BaseException) -> None:
        write_json_atomic(job.output_dir / RESULTS_FILE, {
            "status": "failed", "error": f"{type(err).__name__}: {err}", "user_error": user_error(err) is not None,
            "run_name": str(job.cfg.get("run_name")),
        })
