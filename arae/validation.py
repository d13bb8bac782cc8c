"""Checks of a composed config before anything is built, so a bad value stops the run at once with one
message that names the setting and a value that works (deeper libraries would fail late, or not at all)."""

from __future__ import annotations

import difflib
import inspect
import math
import netrc
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from arae.errors import ConfigError, UserError, print_error
from arae.results import check_writable_folder

MAX_SEED = 2**32 - 1  # numpy's seeds, which Lightning's seed_everything also sets
WANDB_DEFAULT_URL = "https://api.wandb.ai"
WANDB_CONNECT_SECONDS = 5.0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _real(value: Any) -> bool:
    """A number, inf included (e.g. attack.gamma=inf), NaN not: every comparison with NaN is false, so a
    NaN would slip through any range check written as `value <= 0`."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def settings(node: DictConfig | ListConfig, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every plain setting of `node`, where it is set: an interpolation is checked at
    the setting it points to, under the name the user typed."""
    keys = range(len(node)) if isinstance(node, ListConfig) else node.keys()
    for key in keys:
        if OmegaConf.is_missing(node, key) or OmegaConf.is_interpolation(node, key):
            continue
        value, name = node[key], f"{prefix}{key}"
        if isinstance(value, (DictConfig, ListConfig)):
            yield from settings(value, f"{name}.")
        else:
            yield name, value


def check_no_nan(cfg: DictConfig) -> None:
    """No setting may be NaN: it passes every range check silently and fails deep inside torch."""
    for key, value in settings(cfg):
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"{key}=nan is not a number; set {key} to a number (see its config file in conf/)")


def check_positive_int(value: Any, key: str, example: str) -> None:
    if not _whole(value) or value < 1:
        raise ConfigError(f"{key}={value} must be a whole number of at least 1, e.g. {example}")


def check_optional_positive_int(cfg: DictConfig, key: str, example: str) -> None:
    """`key` (dotted), when the config has it and it is not null, as check_positive_int."""
    value = OmegaConf.select(cfg, key)
    if value is not None:
        check_positive_int(value, key, example)


def check_seed(value: Any) -> None:
    if not _whole(value) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"seed={value} must be a whole number from 0 to {MAX_SEED}, e.g. seed=0")


def check_learning_rate(optimizer: DictConfig) -> None:
    lr = optimizer.get("lr")
    if lr is not None and (not _number(lr) or not lr > 0):
        raise ConfigError(f"optimizer.lr={lr} must be a number above 0, e.g. optimizer.lr=1e-3")


def check_threads(value: Any) -> None:
    """More threads than the machine has CPUs only wait for each other; far more exhaust OpenMP's memory."""
    cpus = os.cpu_count() or 1
    if value is not None and (not _whole(value) or not 1 <= value <= cpus):
        raise ConfigError(
            f"num_threads={value} must be a whole number from 1 to {cpus} (this machine's CPUs), or null for "
            "PyTorch's default; e.g. num_threads=1"
        )


LINF_BALL = "arae.attacks.LinfBall"


def check_linf_radius(value: Any, key: str) -> None:
    """An L-inf radius on images in [0, 1]: from 1 on, the ball holds every image of the pixel box, so the
    attack may replace an image by any other and nothing is bounded any more."""
    if not _real(value) or not 0 < value < 1:
        raise ConfigError(
            f"{key}={value} must be a number above 0 and below 1: it is the L-inf radius on images in [0, 1], and "
            "from 1 on the ball holds every image, so the attack is not bounded at all; e.g. dataset.epsilon=0.2"
        )


def _nodes(node: Any, prefix: str) -> Iterator[tuple[str, DictConfig]]:
    """(dotted key, node) of `node` and every config node below it."""
    if isinstance(node, DictConfig):
        yield prefix, node
        for key in node.keys():
            if not OmegaConf.is_interpolation(node, key):
                yield from _nodes(node[key], f"{prefix}.{key}")


def check_attack(cfg: DictConfig) -> None:
    """The data set's L-inf radius and PGD steps, and those set on the attack itself (attack.adversary.*)."""
    if cfg.dataset.get("epsilon") is not None:
        check_linf_radius(cfg.dataset.epsilon, "dataset.epsilon")
    if cfg.dataset.get("pgd_steps") is not None:
        check_positive_int(cfg.dataset.pgd_steps, "dataset.pgd_steps", "dataset.pgd_steps=40")
    for key, node in _nodes(cfg.attack, "attack"):
        if node.get("_target_") == LINF_BALL and not OmegaConf.is_interpolation(node, "eps"):
            check_linf_radius(node.eps, f"{key}.eps")
        if "steps" in node and not OmegaConf.is_interpolation(node, "steps"):
            check_positive_int(node.steps, f"{key}.steps", f"{key}.steps=40")
    gamma = cfg.attack.get("gamma")
    if not _real(gamma) or not gamma >= 0:
        raise ConfigError(
            f"attack.gamma={gamma} must be a number >= 0 (the weight of the latent term; 0 leaves it out), "
            "e.g. attack.gamma=0.1"
        )


def check_tau(protocol: DictConfig) -> None:
    """Its range is the split's to check (arae/data/splits.py); a word instead of a number stops here."""
    tau = protocol.get("tau")
    if tau is not None and not _real(tau):
        raise ConfigError(
            f"protocol.tau={tau} must be a number between 0 and 1 (the share of normal images in the test set), "
            "e.g. protocol.tau=0.5"
        )


TRAINERS = ("pytorch_lightning.Trainer", "lightning.pytorch.Trainer", "lightning.Trainer")


def check_trainer_keys(trainer: DictConfig) -> None:
    """A key Lightning's Trainer does not take (a typo added with +trainer.*) would stop the run with a
    TypeError inside Hydra's instantiate."""
    if trainer.get("_target_") not in TRAINERS:
        return
    from pytorch_lightning import Trainer

    accepted = [name for name in inspect.signature(Trainer.__init__).parameters if name != "self"]
    for key in trainer.keys():
        if not str(key).startswith("_") and key not in accepted:
            close = difflib.get_close_matches(str(key), accepted, n=1)
            hint = f"did you mean trainer.{close[0]}?" if close else "see conf/trainer/cpu.yaml for the usual ones"
            raise ConfigError(f"trainer.{key} is not a setting of Lightning's Trainer; {hint}")


def _wandb_key(host: str) -> str | None:
    if os.environ.get("WANDB_API_KEY"):
        return os.environ["WANDB_API_KEY"]
    try:
        entry = netrc.netrc(os.environ.get("NETRC")).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    return entry[2] if entry else None


def check_wandb_online(cfg: DictConfig) -> None:
    """An online W&B run needs an API key and a reachable server; without them wandb fails late (after a
    long network timeout) with a traceback. Offline runs need neither."""
    node = (cfg.get("logger") or {}).get("wandb")
    if node is None or node.get("mode") != "online":
        return
    url = urlparse(os.environ.get("WANDB_BASE_URL") or WANDB_DEFAULT_URL)
    host = url.hostname or ""
    offline = "or run offline (unset WANDB_MODE) and upload later with `wandb sync <run folder>/wandb/offline-run-*`"
    if not _wandb_key(host):
        raise ConfigError(
            f"WANDB_MODE=online but no W&B API key is set for {host}: run `wandb login` or set WANDB_API_KEY, "
            + offline
        )
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=WANDB_CONNECT_SECONDS).close()
    except OSError as err:
        raise ConfigError(
            f"WANDB_MODE=online but the W&B server {url.geturl()} cannot be reached ({err.strerror or err}): "
            "check the network or WANDB_BASE_URL, " + offline
        ) from None


def attack_leaks_gradient(cfg: DictConfig) -> bool:
    """Whether the attack (or a union member) is a LeakyPGD with a leak weight above 0 (arae/attacks/leak.py)."""
    return any(str(node.get("_target_", "")).endswith("LeakyPGD") and node.get("leak_weight")
               for _, node in _nodes(cfg.attack, "attack"))


def check_leak(cfg: DictConfig) -> None:
    """The leaked gradient only reaches the step that follows the attack: per-batch crafting."""
    crafting = str(cfg.crafting.get("_target_", ""))
    if attack_leaks_gradient(cfg) and not crafting.endswith("BatchCrafting"):
        raise ConfigError("attack.leak_weight > 0 (the union script's gradient leak) needs crafting=batch: with "
                          "per-epoch crafting no training step follows the attack; add crafting=batch or set "
                          "attack.leak_weight=0")


MATMUL_PRECISIONS = ("highest", "high", "medium")  # torch.set_float32_matmul_precision's
OBJECTIVES = ("val/auroc", "val/auroc_last_k_mean")  # what a hyperparameter search may optimise


def check_epochs(max_epochs: Any) -> None:
    """The number of epochs to train: at least one (0 would record an untrained model as a result)."""
    if not _whole(max_epochs) or max_epochs < 1:
        raise ConfigError(f"trainer.max_epochs must be a whole number of epochs >= 1, got {max_epochs}")


def check_matmul_precision(value: Any) -> None:
    if value not in MATMUL_PRECISIONS:
        raise ConfigError(f"matmul_precision must be one of {', '.join(MATMUL_PRECISIONS)}, got {value!r}")


def check_search(cfg: DictConfig) -> None:
    """A hyperparameter search (`optimized_metric` set, conf/hparams_search/) needs a validation split:
    without one, val/* is computed on the test split, and the search would tune on the test set."""
    metric = cfg.get("optimized_metric")
    if metric is None:
        return
    if metric not in OBJECTIVES:
        raise ConfigError(f"optimized_metric must be one of {', '.join(OBJECTIVES)}, got {metric!r}")
    if not cfg.protocol.get("validation", False):
        raise ConfigError(
            f"the search optimises {metric} on a validation split, but protocol {cfg.protocol.name} has none "
            "(its val/* would be the test split): add protocol=p1 protocol.validation=true"
        )


def check_single_device(trainer) -> None:
    """The one check that needs the built Trainer (its world size resolves trainer.devices=auto and
    num_nodes): one run trains on one device; several devices are used by running several jobs at once."""
    if trainer.world_size > 1:
        raise ConfigError(
            f"this run would train on {trainer.world_size} devices (trainer.devices, trainer.num_nodes), but one "
            "run trains on one device (trainer.devices=1). To use several devices, run several jobs at once: a "
            "sweep with a launcher, e.g. `python train.py -m hydra/launcher=joblib hydra.launcher.n_jobs=2 "
            "normal_class=1,2`, or hydra/launcher=submitit_slurm with one GPU per job (docs/launchers.md)"
        )


def validate(cfg: DictConfig) -> None:
    """Raise a ConfigError for the first setting that cannot work. Every job and ensemble member passes here
    (arae.pipeline.build_job) before anything is built; the objects built afterwards still check their own
    arguments, for code that builds them without a config (docs/extending.md)."""
    check_no_nan(cfg)
    check_epochs(cfg.trainer.max_epochs)
    check_positive_int(cfg.dataset.batch_size, "dataset.batch_size", "dataset.batch_size=64")
    check_seed(cfg.seed)
    check_learning_rate(cfg.optimizer)
    check_positive_int(cfg.last_k, "last_k", "last_k=50 (the mean AUROC over the last 50 epochs)")
    check_positive_int(cfg.eval_every_n_epochs, "eval_every_n_epochs", "eval_every_n_epochs=1 (every epoch)")
    check_optional_positive_int(cfg, "callbacks.checkpoint.every_n_epochs", "callbacks.checkpoint.every_n_epochs=10")
    check_threads(cfg.get("num_threads"))
    check_attack(cfg)
    check_leak(cfg)
    check_tau(cfg.protocol)
    check_trainer_keys(cfg.trainer)
    check_matmul_precision(cfg.matmul_precision)
    check_search(cfg)
    check_wandb_online(cfg)


def empty_sweeps(arguments: Sequence[str]) -> list[str]:
    """The sweeps among Hydra override strings (the sweeper's params first, the command line's after, which
    win, as Hydra's basic sweeper combines them) that give no value, e.g. seed=range(0): the sweep then has
    no job at all, and Hydra ends it without a word."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    last = {o.get_key_element(): o for o in OverridesParser.create().parse_overrides(list(arguments))}
    empty = []
    for override in last.values():
        if not override.is_discrete_sweep():
            continue
        try:
            values = list(override.sweep_string_iterator())
        except Exception:  # a sweep only its sweeper can expand (glob over a group)
            continue
        if not values:
            empty.append(override.input_line)
    return empty


def check_sweep(config: DictConfig) -> None:
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()] + list(config.hydra.overrides.task)
    empty = empty_sweeps(arguments)
    if empty:
        raise ConfigError(f"the sweep has 0 jobs: {', '.join(empty)} gives no value; give it at least one")


def _folder(config: DictConfig, key: str) -> str | None:
    """hydra.run.dir or hydra.sweep.dir as Hydra will resolve it; None when the config itself does not
    resolve (the task reports that)."""
    try:
        return str(OmegaConf.select(config, key, throw_on_resolution_failure=True))
    except OmegaConfBaseException:
        return None


def check_output_folder(config: DictConfig, key: str) -> None:
    folder = _folder(config, key)
    if folder is not None:
        check_writable_folder(folder, f"point {key} at a folder where files can be written, e.g. {key}=outputs/run")


@contextmanager
def _exit_on_user_error() -> Iterator[None]:
    try:
        yield
    except UserError as err:
        print_error(err)
        raise SystemExit(2) from None


class SettingsCheck(Callback):
    """Hydra's checks before it writes anything (conf/train.yaml hydra.callbacks): the run or sweep folder
    takes files, and a sweep has jobs. Without them Hydra fails with a traceback, or ends in silence."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        with _exit_on_user_error():
            check_output_folder(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        with _exit_on_user_error():
            check_search(config)  # a search on the test split: stopped before its first trial
            check_sweep(config)
            check_output_folder(config, "hydra.sweep.dir")
