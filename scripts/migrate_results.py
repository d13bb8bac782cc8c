"""Rewrite results.json files of older runs in today's format, in place: what the readers of results.json
and the resume check expect, so that they need no reader of older formats.

    python scripts/migrate_results.py                 # every results.json under studies/
    python scripts/migrate_results.py DIR... --check  # list the files that need it; exit status 1 if any

Per file, only what is missing or named the old way, each derived from what the file records:
- `auroc_last_50` (the last-K AUROC named by K) is renamed `auroc_last_k`;
- class paths that have moved (`_target_`) are written as today's;
- the config gets the nodes that only gather other settings: `attack.paper_name` (conf/attack/<name>.yaml),
  `loss` and `module` (conf/loss/arae.yaml and conf/module/arae.yaml resolved against the recorded config,
  filling in what a recorded node lacks, e.g. `loss.block_gamma`);
- a setting added after the run gets the value the run had (ADDED: the DAE's noise was always clipped);
- a run that evaluated every epoch (its AUROC history as long as its epochs) gets `val_auroc_epochs` and
  `config.eval_every_n_epochs: 1`;
- `settings`, the record reports read (arae.results.run_settings of the config).
A file already in today's format is left untouched (not even rewritten): running it again changes nothing.
Failed runs' records (no config) are left as they are.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arae.results import LAST_K, RESULTS_FILE, run_settings, write_json_atomic  # noqa: E402
from arae.train import config_dir  # noqa: E402
from arae.variants import display_name  # noqa: E402

# Class paths of older configs -> where the classes live now.
MOVED = {
    "arae.data.HeldOutProtocol": "arae.data.protocols.ProtocolOne",
    "arae.data.ProtocolTwo": "arae.data.protocols.ProtocolTwo",
    "arae.evaluation.ThresholdedF1": "arae.training.thresholded_f1.ThresholdedF1",
}


# Settings added to an attack after runs were recorded: {attack: {key under attack.: the value those runs had}}.
ADDED = {"noise": {"adversary.clip": True}}


def _insert(mapping: dict, key: str, value: Any, after: str | None = None, before: str | None = None) -> dict:
    """`mapping` with `key` added after the key `after` (or before `before`; else at the end)."""
    items = list(mapping.items())
    keys = [k for k, _ in items]
    if after in keys:
        at = keys.index(after) + 1
    elif before in keys:
        at = keys.index(before)
    else:
        at = len(items)
    return dict([*items[:at], (key, value), *items[at:]])


def _moved(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MOVED.get(v, v) if k == "_target_" else _moved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v) for v in value]
    return value


def _under(base: Any, top: Any) -> Any:
    """`top` with what it lacks of `base` filled in (dicts merged key by key; `top` wins), keeping its order."""
    if not isinstance(base, dict) or not isinstance(top, dict):
        return top
    return {**{k: _under(base[k], v) if k in base else v for k, v in top.items()},
            **{k: v for k, v in base.items() if k not in top}}


def _gathering_nodes(config: dict) -> dict:
    """The `loss` and `module` nodes of today's conf/ resolved against a recorded config (that config's
    own attack, model, optimizer and crafting)."""
    root = OmegaConf.create({k: v for k, v in config.items() if k not in ("loss", "module")})
    for name in ("loss", "module"):
        OmegaConf.update(root, name, OmegaConf.load(config_dir() / name / "arae.yaml"), force_add=True)
    return {name: OmegaConf.to_container(root[name], resolve=True) for name in ("loss", "module")}


def _with_added(attack: dict) -> dict:
    """A copy of a recorded attack node with the settings of ADDED it lacks."""
    attack = copy.deepcopy(attack)
    for key, value in ADDED.get(attack.get("name"), {}).items():
        *path, last = key.split(".")
        node = functools.reduce(lambda n, part: n.get(part) if isinstance(n, dict) else None, path, attack)
        if isinstance(node, dict):
            node.setdefault(last, value)
    return attack


def migrate_config(config: dict) -> dict:
    config = _moved(config)
    attack = config.get("attack")
    if not isinstance(attack, dict) or "name" not in attack:
        return config
    attack = _with_added(attack)
    if "paper_name" not in attack:
        attack = _insert(attack, "paper_name", display_name({"attack": attack["name"]}), after="name")
    config = {**config, "attack": attack}
    nodes = _gathering_nodes(config)
    for name, after in (("loss", "detector"), ("module", "loss")):
        if name in config:
            config = {**config, name: _under(nodes[name], config[name])}
        else:
            config = _insert(config, name, nodes[name], after=after)
    return config


def migrate(results: dict) -> dict:
    """`results` in today's format (the same object if nothing was missing)."""
    before = results
    if LAST_K not in results:
        old = next((k for k in results if k.startswith("auroc_last_") and k.removeprefix("auroc_last_").isdigit()), None)
        if old is not None:
            results = {(LAST_K if k == old else k): v for k, v in results.items()}
    config = results.get("config")
    if not isinstance(config, dict):
        return results
    history, epochs = results.get("val_auroc_history"), results.get("epochs")
    every_epoch = isinstance(history, list) and isinstance(epochs, int) and len(history) == epochs
    if "val_auroc_epochs" not in results and every_epoch:
        results = _insert(results, "val_auroc_epochs", list(range(1, epochs + 1)), after="val_auroc_history")
    migrated = migrate_config(config)
    if "eval_every_n_epochs" not in migrated and every_epoch:
        migrated = _insert(migrated, "eval_every_n_epochs", 1, after="last_k")
    if migrated != config or list(migrated) != list(config):
        results = {**results, "config": migrated}
    if "settings" not in results:
        results = _insert(results, "settings", run_settings(results["config"]), before="config")
    return results if results != before or list(results) != list(before) else before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="*", type=Path, default=[REPO / "studies"], help="folders searched for results.json")
    parser.add_argument("--check", action="store_true", help="only list the files that need migrating")
    args = parser.parse_args(argv)
    files = sorted(p for root in args.roots for p in root.rglob(RESULTS_FILE))
    changed = []
    for path in files:
        results = json.loads(path.read_text())
        migrated = migrate(results)
        if migrated is not results:
            changed.append(path)
            if not args.check:
                write_json_atomic(path, migrated)
    for path in changed:
        print(f"{'needs migrating' if args.check else 'migrated'}: {path}")
    print(f"{len(changed)} of {len(files)} results.json files {'need migrating' if args.check else 'migrated'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
