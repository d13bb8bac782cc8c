"""Training K members in one process: the stacked members as one LightningModule (EnsembleModule) trained
by the Trainer, the callbacks and the checkpoint functions of a separate job (arae.pipeline), each member
writing what its separate job writes: its results.json, its loggers' rows (live), its checkpoint."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from omegaconf import OmegaConf
from pytorch_lightning.loggers import WandbLogger

from arae.detector import DetectorExport
from arae.ensemble.callbacks import PerMember, configured
from arae.ensemble.checkpoint import MemberCheckpointIO
from arae.ensemble.data import EnsembleData
from arae.ensemble.loggers import MemberLogger, member_loggers
from arae.ensemble.member import Member
from arae.ensemble.memory import keep_freed_memory
from arae.ensemble.module import EnsembleModule, member_key
from arae.errors import ConfigError
from arae.pipeline import callback, detector_metadata, final_metrics, make_trainer, ordered_callbacks, results_record
from arae.results import RESULTS_FILE, write_json_atomic
from arae.resume import checkpoint_path
from arae.training import EpochTimer
from arae.training.interruption import StopRequest
from arae.training.monitor import StalledLearning
from arae.validation import attack_leaks_gradient

log = logging.getLogger("arae")


def check_supported(cfg) -> None:
    """What one Trainer for all members cannot run as each member's separate job would: refused by name."""
    fixed = {"overfit_batches": 0.0, "max_time": None, "accumulate_grad_batches": 1}
    for key, default in fixed.items():
        value = cfg.trainer.get(key)
        if value is not None and (value != default or type(value) is not type(default)):
            raise ConfigError(f"trainer.{key} is not supported by the ensemble trainer; run without hydra/launcher=ensemble")
    for key in ("limit_train_batches", "limit_test_batches"):
        value = cfg.trainer.get(key)
        if isinstance(value, float) and value != 1.0:
            raise ConfigError(f"trainer.{key}={value}: the ensemble takes a number of batches (e.g. trainer.{key}=2), "
                              "not a fraction, which would count each member's batches otherwise than its separate job")
    if attack_leaks_gradient(cfg) or cfg.attack.get("block_gamma") is not None:
        raise ConfigError("attack.leak_weight and attack.block_gamma are not supported by the ensemble trainer; run "
                          "without hydra/launcher=ensemble")
    optimizer = str(cfg.optimizer.get("_target_", ""))
    if optimizer != "torch.optim.Adam":
        raise ConfigError(f"the ensemble trainer steps Adam (torch.optim.Adam) only, got {optimizer}; run without "
                          "hydra/launcher=ensemble")


def _check_batches(members: Sequence[Member], data: EnsembleData) -> None:
    """A limit on the batches per epoch must cut every member's epoch or none: an epoch cut short is crafted
    per batch (arae.training.crafting), a whole one at its start."""
    limit = members[0].cfg.trainer.get("limit_train_batches")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return
    batches = data.train_dataloader().batches
    if min(batches) <= limit < max(batches):
        raise ConfigError(f"trainer.limit_train_batches={limit} cuts some members' epochs ({min(batches)} to "
                          f"{max(batches)} batches) but not others'; take a limit below {min(batches)} for all")


def build_module(members: Sequence[Member]) -> EnsembleModule:
    first = members[0].parts.module
    options = {k: v for k, v in OmegaConf.to_container(members[0].cfg.optimizer).items() if not k.startswith("_")}
    return EnsembleModule(
        [m.parts.module.net for m in members], first.attack, first.loss, options, first.crafting,
        names=[m.name for m in members], hparams=[dict(m.parts.module.hparams) for m in members],
        random_states=[m.random_state for m in members],
    )


@contextmanager
def member_log_files(members: Sequence[Member]):
    """Each member's lines (those that start with its name) also go to its job's own log file."""
    handlers = []
    for member in members:
        handler = logging.FileHandler(member.output_dir / member.log_file)
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        handler.addFilter(lambda record, name=member.name: record.getMessage().startswith(f"{name}:"))
        log.addHandler(handler)
        handlers.append(handler)
    try:
        yield
    finally:
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()


def _finish(loggers: list, failed: bool) -> None:
    for logger in loggers:
        if isinstance(logger, WandbLogger):  # each member's W&B run is its own
            logger.experiment.finish(exit_code=1 if failed else 0)


def train_members(members: Sequence[Member], stop: StopRequest) -> list[dict[str, Any] | None]:
    """Train the members together; each writes its results.json, logs and checkpoint. Returns the results
    of each member (None for a member that stopped; its `error` says why). After a SIGTERM (stop.requested)
    the members' checkpoints are saved and nothing is returned."""
    for member in members:
        check_supported(member.cfg)
    keep_freed_memory()
    first = members[0]
    module = build_module(members)
    data = EnsembleData([m.parts.datamodule for m in members])
    _check_batches(members, data)
    loggers = [member_loggers(m.cfg, m.resume) for m in members]
    instances = [{name: callback(node) for name, node in (m.cfg.callbacks or {}).items() if node is not None}
                 for m in members]
    timer = EpochTimer()
    evaluation = PerMember("evaluation", [m.parts.evaluation for m in members], loggers)
    export = PerMember("detector", [DetectorExport(m.parts.calibration, m.parts.calibration_images,
                                                   m.parts.datamodule.eval_batch_size,
                                                   detector_metadata(m.cfg, m.parts.datamodule)) for m in members],
                       loggers)
    stalled = PerMember("stalled", [StalledLearning() for _ in members], loggers)
    callbacks = ordered_callbacks(timer, configured(instances, loggers), evaluation, stop, export, stalled)
    io = MemberCheckpointIO([checkpoint_path(m.cfg) for m in members],
                            [m.resume.path if m.resume else None for m in members])
    trainer = make_trainer(first.cfg, [MemberLogger(logger, i, module) for i in range(len(members)) for logger in loggers[i]],
                           callbacks, first.output_dir, io)
    log.info("ensemble of %d members: %s", len(members), ", ".join(m.name for m in members))
    failed = True
    try:
        with member_log_files(members):
            trainer.fit(module, datamodule=data, ckpt_path=str(first.resume.path) if first.resume else None)
            if stop.requested:
                return []
            test = trainer.test(module, datamodule=data, verbose=False)[0] if module.running() else {}
        results = []
        for i, member in enumerate(members):
            if i in module.stopped:
                member.error = module.stopped[i]
                results.append(None)
                continue
            prefix = member_key(i, "test/")
            record = results_record(
                member.cfg, member.parts, net=module.member_net(i), epochs=trainer.current_epoch,
                steps=module.steps[i], test={k.removeprefix(prefix): float(v) for k, v in test.items() if k.startswith(prefix)},
                epoch_seconds=[s / len(members) for s in timer.seconds], started=member.started, resume=member.resume,
                output_dir=member.output_dir,
            )
            for logger in loggers[i]:  # the last row: the member's last epoch and step, as the test row
                logger.log_metrics(final_metrics(record) | {"epoch": trainer.current_epoch}, step=module.steps[i])
            write_json_atomic(member.output_dir / RESULTS_FILE, record)
            results.append(record)
        failed = False
        return results
    finally:
        for i, own in enumerate(loggers):
            _finish(own, failed or i in module.stopped)
