"""One member of an ensemble: what its separate job would build (arae.pipeline.build_job), its place in
the stack, and everything that makes its output the separate job's: its random stream, its data order,
its evaluation history, its log rows, its checkpoint and its results.json."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from arae.attacks.randomness import MemberStreams
from arae.detector.checkpoint import FORMAT as DETECTOR_FORMAT
from arae.detector.checkpoint import KEY as DETECTOR_KEY
from arae.detector.checkpoint import NET_PREFIX
from arae.pipeline import JobParts, build_job, detector_metadata, results_record
from arae.results import LAST_K, RESULTS_FILE, write_atomic, write_json_atomic
from arae.resume import ENSEMBLE_KEY, ResumePoint, checkpoint_path
from arae.training.build import module_hparams

FORMAT = 1  # of the checkpoint entry ENSEMBLE_KEY, which only the ensemble trainer writes and reads


@dataclass
class Member:
    cfg: DictConfig  # resolved: it no longer needs the Hydra config of its job
    output_dir: Path
    resume: ResumePoint | None
    log_file: str = "train.log"  # Hydra's <job name>.log in the job's folder
    parts: JobParts = field(init=False)
    random_state: dict[str, torch.Tensor] = field(init=False)
    started: float = field(default_factory=time.perf_counter)
    epoch: int = 0  # epochs trained
    steps: int = 0
    epoch_seconds: list[float] = field(default_factory=list)
    rows: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # (step, metrics) as logged
    error: str | None = None

    def build(self) -> None:
        """Build as the separate job would, in its order, then keep the global stream as its own."""
        self.parts = build_job(self.cfg)
        self.random_state = MemberStreams.capture()
        self.loader = self.parts.datamodule.train_dataloader()

    @property
    def name(self) -> str:
        return str(self.cfg.run_name)

    @property
    def max_epochs(self) -> int:
        return self.parts.max_epochs

    @property
    def active(self) -> bool:
        return self.error is None and self.epoch < self.max_epochs

    def single_net(self, state: dict[str, torch.Tensor]) -> torch.nn.Module:
        """A plain net of this member's architecture holding `state` (for testing and calibration)."""
        net = copy.deepcopy(self.parts.module.net)
        net.load_state_dict(state)
        return net

    # -- checkpoints ------------------------------------------------------------------------------
    def checkpoint_every(self) -> int | None:
        node = (self.cfg.get("callbacks") or {}).get("checkpoint")
        return None if not node else int(node.get("every_n_epochs", 1))

    def save_checkpoint(self, state: dict[str, torch.Tensor], optimizer: dict[str, Any], net) -> None:
        """Checkpoint in the layout the detector API and `resume_point` read (weights under `net.`, the
        detector entry, `epoch`), plus what the ensemble needs to continue this member."""
        path = checkpoint_path(self.cfg)
        if path is None:
            return
        datamodule = self.parts.datamodule
        checkpoint = {
            "epoch": self.epoch - 1,  # Lightning's convention: the index of the last epoch trained
            "global_step": self.steps,
            "state_dict": {f"{NET_PREFIX}{k}": v for k, v in state.items()},
            "hyper_parameters": module_hparams(self.cfg, datamodule.image_shape),
            DETECTOR_KEY: {
                "format": DETECTOR_FORMAT,
                **detector_metadata(self.cfg, datamodule),
                **self.parts.calibration.threshold(net, self.parts.calibration_images, datamodule.eval_batch_size),
            },
            ENSEMBLE_KEY: {
                "format": FORMAT,
                "optimizer": optimizer,
                "random": self.random_state,
                "data": datamodule.state_dict(),
                "evaluation": self.parts.evaluation.state_dict(),
                "epoch_seconds": list(self.epoch_seconds),
                "rows": [[step, metrics] for step, metrics in self.rows],
            },
        }
        write_atomic(path, lambda handle: torch.save(checkpoint, handle), readable=False)

    def load_checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(net state, optimizer state) of the checkpoint this member resumes from; restores the rest."""
        checkpoint = torch.load(self.resume.path, map_location="cpu", weights_only=True)
        saved = checkpoint[ENSEMBLE_KEY]
        self.epoch, self.steps = int(checkpoint["epoch"]) + 1, int(checkpoint["global_step"])
        self.random_state = saved["random"]
        self.parts.datamodule.load_state_dict(saved["data"])
        self.parts.evaluation.load_state_dict(saved["evaluation"])
        self.epoch_seconds = list(saved["epoch_seconds"])
        self.rows = [(int(step), dict(metrics)) for step, metrics in saved["rows"]]
        state = {k[len(NET_PREFIX):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(NET_PREFIX)}
        return state, saved["optimizer"]

    # -- outputs ----------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        """One line to the console and to the member's own <job name>.log, as its separate job's."""
        logging.getLogger("arae").info(line)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.output_dir / self.log_file, "a") as handle:
            handle.write(f"[{stamp}][arae][INFO] - {line}\n")

    def write_logs(self, final: dict[str, float] | None = None) -> None:
        """The member's loggers (CSV, W&B offline, ...) get what a separate job logs, row by row."""
        nodes = [n for n in (self.cfg.logger or {}).values() if n is not None]
        for node in nodes:
            logger = instantiate(node)
            logger.log_hyperparams(OmegaConf.to_container(self.cfg, resolve=True))
            for step, metrics in self.rows:
                logger.log_metrics(metrics, step=step)
            logger.finalize("success" if final is not None else "failed")
            if final:  # after finalize, as a separate job logs it: the last epoch and step, as the test row
                logger.log_metrics(final | {"epoch": self.epoch}, step=self.steps)
            run = getattr(logger, "_experiment", None)
            if hasattr(run, "finish"):  # a W&B run: each member's is its own and ends here
                run.finish()

    def complete(self, net, test: dict[str, float]) -> dict[str, Any]:
        results = results_record(
            self.cfg, self.parts, net=net, epochs=self.epoch, steps=self.steps, test=test,
            epoch_seconds=self.epoch_seconds, started=self.started, resume=self.resume, output_dir=self.output_dir,
        )
        self.rows.append((self.steps, {f"test/{k}": v for k, v in test.items()} | {"epoch": self.epoch}))
        self.write_logs({f"final/{LAST_K}_{k}": v for k, v in results[LAST_K].items() if v is not None})
        write_json_atomic(self.output_dir / RESULTS_FILE, results)
        return results
