"""Checks of a composed config before anything is built, so a bad value stops the run at once with one
message that names the setting and a value that works (deeper libraries would fail late, or not at all)."""

from __future__ import annotations

import math
import netrc
import os
import socket
from typing import Any
from urllib.parse import urlparse

from omegaconf import DictConfig, OmegaConf

from arae.errors import ConfigError

MAX_SEED = 2**32 - 1  # numpy's seeds, which Lightning's seed_everything also sets
WANDB_DEFAULT_URL = "https://api.wandb.ai"
WANDB_CONNECT_SECONDS = 5.0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_positive_int(value: Any, key: str, example: str) -> None:
    if not _whole(value) or value < 1:
        raise ConfigError(f"{key}={value} must be a whole number of at least 1, e.g. {example}")


def check_seed(value: Any) -> None:
    if not _whole(value) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"seed={value} must be a whole number from 0 to {MAX_SEED}, e.g. seed=0")


def check_learning_rate(optimizer: DictConfig) -> None:
    lr = optimizer.get("lr")
    if lr is not None and (not _number(lr) or lr <= 0):
        raise ConfigError(f"optimizer.lr={lr} must be a number above 0, e.g. optimizer.lr=1e-3")


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


def _nodes(node: Any):
    """Every mapping in a resolved config tree, the tree itself included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def attack_leaks_gradient(cfg: DictConfig) -> bool:
    """Whether the attack (or a union member) is a LeakyPGD with a leak weight above 0 (arae/attacks/leak.py)."""
    attack = OmegaConf.to_container(cfg.attack, resolve=True)
    return any(str(node.get("_target_", "")).endswith("LeakyPGD") and node.get("leak_weight") for node in _nodes(attack))


def check_leak(cfg: DictConfig) -> None:
    """The leaked gradient only reaches the step that follows the attack: per-batch crafting."""
    crafting = str(cfg.crafting.get("_target_", ""))
    if attack_leaks_gradient(cfg) and not crafting.endswith("BatchCrafting"):
        raise ConfigError("attack.leak_weight > 0 (the union script's gradient leak) needs crafting=batch: with "
                          "per-epoch crafting no training step follows the attack; add crafting=batch or set "
                          "attack.leak_weight=0")


def validate(cfg: DictConfig) -> None:
    """Raise a ConfigError for the first setting that cannot work."""
    check_positive_int(cfg.dataset.batch_size, "dataset.batch_size", "dataset.batch_size=64")
    check_seed(cfg.seed)
    check_learning_rate(cfg.optimizer)
    check_positive_int(cfg.last_k, "last_k", "last_k=50 (the mean AUROC over the last 50 epochs)")
    check_leak(cfg)
    check_wandb_online(cfg)
