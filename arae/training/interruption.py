"""Stopping on SIGTERM (what SLURM and most schedulers send before they kill a job) at the end of the
current epoch, where everything the next epoch needs can be saved, rather than in the middle of one; and on
SIGINT (Ctrl+C) at once, from the last checkpoint saved. Either way the run is recorded as interrupted."""

from __future__ import annotations

import signal
import threading

import pytorch_lightning as pl

EXIT_INTERRUPTED = 128 + signal.SIGTERM  # the status a shell gives a process ended by SIGTERM
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(Exception):
    """The run was asked to stop before it finished; its last checkpoint (if any) resumes it. `status`: the
    exit status a shell gives a process ended by that signal."""

    def __init__(self, message: str, status: int = EXIT_INTERRUPTED) -> None:
        super().__init__(message)
        self.status = status


class StopRequest:
    """While installed, a first SIGTERM only sets `requested`; the run stops at its next epoch end. A
    second SIGTERM stops it at once, and with `sigint`, so does SIGINT (Ctrl+C: someone is waiting for the
    prompt; Lightning's own Ctrl+C handling would end the process with status 1, recorded as a failure)."""

    def __init__(self, sigint: bool = False) -> None:
        self.requested = False
        self.signals = SIGNALS if sigint else (signal.SIGTERM,)
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if signum == signal.SIGINT:
            raise Interrupted("stopped by SIGINT (Ctrl+C)", status=128 + signal.SIGINT)
        if self.requested:
            raise Interrupted("a second SIGTERM arrived: stopped at once")
        self.requested = True

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                signal.signal(signum, self._handle)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.getsignal(signum) for signum in self.signals}
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:
                signal.signal(signum, handler)


class StopAtEpochEnd(pl.Callback):
    """Lightning's own SIGTERM handler stops training after the current batch, in the middle of an epoch
    whose per-epoch adversarial examples and data order a checkpoint cannot hold; this callback puts the
    StopRequest's handler back once training starts and ends training at the epoch's end instead (the
    checkpoint callback then saves that epoch)."""

    def __init__(self, request: StopRequest) -> None:
        self.request = request

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.request.install()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.request.requested:
            trainer.should_stop = True
