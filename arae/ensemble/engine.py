"""Training K members in one process: one stacked forward, attack and optimiser step for all of them.

Each member is built exactly as its separate job would be (arae.pipeline.build_job: same seed, same data
split, same initial weights), keeps its own random stream for the attack's random starts and the noise
(arae.attacks.randomness), its own data order (its DataModule's generator), its own Adam moments and
step count, and writes what its separate job writes into its own folder.

Members train in rounds: in each round every member that still has epochs to go trains its next epoch.
Their batches are stacked as blocks of `batch_size` rows; a member whose epoch has fewer batches (a
smaller normal class) has padding rows that count for nothing, and sits out the steps after its last
batch: its parameters and moments do not move.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import torch
from hydra.utils import instantiate

from arae.attacks import copies
from arae.attacks.randomness import MemberStreams, member_streams
from arae.ensemble.adam import StackedAdam
from arae.ensemble.member import Member
from arae.ensemble.stacked import StackedNets
from arae.errors import ConfigError
from arae.scoring import anomaly_metrics, loader_scores
from arae.training.crafting import BatchCrafting, EpochCrafting
from arae.validation import attack_leaks_gradient

log = logging.getLogger("arae")

TRAINING_AUTOCAST = {None: None, "32": None, "32-true": None, "bf16-mixed": torch.bfloat16}


def _device(cfg) -> torch.device:
    accelerator = str(cfg.trainer.get("accelerator", "cpu"))
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError("trainer.accelerator asks for a GPU but torch sees no CUDA device; use trainer=cpu")
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def _training_autocast(cfg) -> torch.dtype | None:
    precision = cfg.trainer.get("precision")
    precision = None if precision is None else str(precision)
    if precision not in TRAINING_AUTOCAST:
        raise ConfigError(f"the ensemble trainer supports trainer.precision {sorted(k for k in TRAINING_AUTOCAST if k)} "
                          f"(or unset), got {precision!r}; run this sweep without hydra/launcher=ensemble")
    return TRAINING_AUTOCAST[precision]


def _check_supported(cfg) -> None:
    defaults = {"limit_train_batches": 1.0, "overfit_batches": 0.0, "max_time": None, "accumulate_grad_batches": 1}
    for key, default in defaults.items():
        value = cfg.trainer.get(key)
        if value is not None and (value != default or type(value) is not type(default)):
            raise ConfigError(f"trainer.{key} is not supported by the ensemble trainer; run without hydra/launcher=ensemble")
    if attack_leaks_gradient(cfg) or cfg.attack.get("block_gamma") is not None:
        raise ConfigError("attack.leak_weight and attack.block_gamma are not supported by the ensemble trainer; run "
                          "without hydra/launcher=ensemble")
    optimizer = str(cfg.optimizer.get("_target_", ""))
    if optimizer != "torch.optim.Adam":
        raise ConfigError(f"the ensemble trainer steps Adam (torch.optim.Adam) only, got {optimizer}; run without "
                          "hydra/launcher=ensemble")


class Ensemble:
    """The stack of members (same model, attack, loss, crafting, optimiser and batch size)."""

    def __init__(self, members: Sequence[Member]) -> None:
        self.members = list(members)
        first = self.members[0]
        for cfg in (m.cfg for m in self.members):
            _check_supported(cfg)
        self.device = _device(first.cfg)
        self.autocast = _training_autocast(first.cfg)
        module = first.parts.module
        self.attack, self.loss, self.crafting = module.attack, module.loss, module.crafting
        self.batch_size = int(first.parts.datamodule.batch_size)
        states = [None] * len(self.members)
        optimizer_states = [None] * len(self.members)
        for i, member in enumerate(self.members):
            if member.resume is not None:
                states[i], optimizer_states[i] = member.load_checkpoint()
        self.net = StackedNets([m.parts.module.net for m in self.members]).to(self.device)
        for i, state in enumerate(states):
            if state is not None:
                self.net.load_member_state(i, state)
        options = {k: v for k, v in first.cfg.optimizer.items() if k not in ("_target_", "_partial_")}
        self.optimizer = StackedAdam(list(self.net.stacked), len(self.members), **options)
        for i, state in enumerate(optimizer_states):
            if state is not None:
                self.optimizer.load_member_state(i, state)
        self.streams = MemberStreams([m.random_state for m in self.members])
        self.images = [m.parts.datamodule.train_set().to(self.device) for m in self.members]
        self._evaluation: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def k(self) -> int:
        return len(self.members)

    def _attack(self, x: torch.Tensor, block: int, rows: Sequence[int]) -> torch.Tensor:
        self.net.block = block
        with member_streams(self.streams, block, rows):
            return self.crafting._attack(self.attack, self.net, x)

    # -- one round: one epoch of every active member ----------------------------------------------
    def _craft_epoch(self, active: list[bool]) -> torch.Tensor:
        """The paper's schedule: every active member's whole training set, attacked in chunks of
        crafting.chunk_size images per member (the chunks of its separate run, so the same draws)."""
        chunk = int(self.crafting.chunk_size)
        sizes = [len(x) if on else 0 for x, on in zip(self.images, active)]
        n_chunks = -(-max(sizes) // chunk)
        shape = self.images[0].shape[1:]
        out = None
        for j in range(n_chunks):
            rows = [max(0, min(chunk, n - j * chunk)) for n in sizes]
            block = torch.zeros(self.k, chunk, *shape, device=self.device)
            for i, n in enumerate(rows):
                if n:
                    block[i, :n] = self.images[i][j * chunk: j * chunk + n]
            x_adv = self._attack(block.view(-1, *shape), chunk, rows)
            made = copies(block.view(-1, *shape), x_adv)
            if out is None:
                out = torch.zeros(made, self.k, n_chunks * chunk, *shape, device=self.device)
            out[:, :, j * chunk:(j + 1) * chunk] = x_adv.view(made, self.k, chunk, *shape)
        return out

    def train_round(self) -> float:
        """One epoch of every active member; returns the seconds it took (attack and steps)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        active = [m.active for m in self.members]
        iterators = [iter(m.loader) if on else None for m, on in zip(self.members, active)]
        stored = self._craft_epoch(active) if isinstance(self.crafting, EpochCrafting) else None
        if stored is None and not isinstance(self.crafting, BatchCrafting):
            raise ConfigError(f"the ensemble trainer knows crafting=epoch and crafting=batch, not {type(self.crafting).__name__}")
        shape = self.images[0].shape[1:]
        sums = torch.zeros(self.k, 3, device=self.device)  # loss, loss_rec, loss_latent (batch-size weighted)
        counts = [0] * self.k
        b = self.batch_size
        while True:
            batches = [next(it, None) if it is not None else None for it in iterators]
            rows = [0 if batch is None else len(batch[1]) for batch in batches]
            if not any(rows):
                break
            x = torch.zeros(self.k, b, *shape, device=self.device)
            for i, batch in enumerate(batches):
                if batch is not None:
                    x[i, :rows[i]] = self.images[i][batch[1].to(self.device)]
            flat = x.view(-1, *shape)
            if stored is None:
                x_adv = self._attack(flat, b, rows)
            else:
                x_adv = torch.zeros(stored.shape[0], self.k, b, *shape, device=self.device)
                for i, batch in enumerate(batches):
                    if batch is not None:
                        x_adv[:, i, :rows[i]] = stored[:, i, batch[1].to(self.device)]
                x_adv = x_adv.view(-1, *shape)
            self._step(flat, x_adv, rows, sums)
            for i, n in enumerate(rows):
                counts[i] += n
                self.members[i].steps += bool(n)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        means = (sums / torch.tensor([max(c, 1) for c in counts], device=self.device).unsqueeze(1)).tolist()
        for member, on, values in zip(self.members, active, means):
            if on:
                member.epoch += 1
                member.epoch_seconds.append(seconds / sum(active))
                member.train_means = dict(zip(("loss", "loss_rec", "loss_latent"), values))
        return seconds

    def _step(self, x: torch.Tensor, x_adv: torch.Tensor, rows: Sequence[int], sums: torch.Tensor) -> None:
        b = self.batch_size
        self.net.block = b
        context = torch.autocast(self.device.type, dtype=self.autocast) if self.autocast else nullcontext()
        with context:
            terms = self.loss.per_example(self.net, x, x_adv)
        real = torch.tensor(rows, device=self.device)
        mask = (torch.arange(b, device=self.device) < real.unsqueeze(1)).float()  # (K, b): 1 for a member's real rows
        made = copies(x, x_adv)
        n = real.clamp(min=1).float() * made
        means = {name: (t.float().view(made, self.k, b) * mask).sum(dim=(0, 2)) / n for name, t in terms.items()}
        combined = self.loss.combine(means)  # per member: (K,) each
        self.optimizer.zero_grad()
        combined["loss"].sum().backward()
        self.optimizer.step([r > 0 for r in rows])
        weight = real.float()
        latent = combined.get("loss_latent", torch.zeros_like(combined["loss"]))
        sums += torch.stack([combined["loss"], combined["loss_rec"], latent], dim=1).detach() * weight.unsqueeze(1)

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(self, due: list[int]) -> dict[int, dict[str, torch.Tensor]]:
        """The evaluation split's metrics for the members in `due`, scored in one stacked pass."""
        if not due:
            return {}
        splits = [self._evaluation_split(i) for i in due]
        chunk = int(self.members[due[0]].parts.datamodule.eval_batch_size)
        longest = max(len(images) for images, _ in splits)
        shape = splits[0][0].shape[1:]
        scores = [[] for _ in due]
        self.net.block = chunk
        with torch.no_grad():
            for start in range(0, longest, chunk):
                block = torch.zeros(self.k, chunk, *shape, device=self.device)
                for slot, i in enumerate(due):
                    part = splits[slot][0][start:start + chunk]
                    block[i, :len(part)] = part
                flat = block.view(-1, *shape)
                err = (flat - self.net(flat)).pow(2).flatten(1).sum(1).view(self.k, chunk)
                for slot, i in enumerate(due):
                    n = max(0, min(chunk, len(splits[slot][0]) - start))
                    scores[slot].append(err[i, :n].cpu())
        return {i: anomaly_metrics(torch.cat(scores[slot]), splits[slot][1]) for slot, i in enumerate(due)}

    def _evaluation_split(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Member i's evaluation images (on the device, copied once) and labels."""
        if i not in self._evaluation:
            loader = self.members[i].parts.datamodule.val_dataloader()
            batches = list(loader)
            self._evaluation[i] = (torch.cat([x for x, _ in batches]).to(self.device), torch.cat([y for _, y in batches]))
        return self._evaluation[i]

    def member_net(self, i: int) -> torch.nn.Module:
        return self.members[i].single_net(self.net.member_state(i)).to(self.device)


def _line(epoch: int, member: Member, metrics: dict[str, Any]) -> str:
    shown = "  ".join(f"{k.split('/', 1)[1]} {v:.4g}" for k, v in metrics.items()
                      if k.startswith(("train/loss", "val/auroc", "val/fpr")))
    return f"{member.name}: epoch {epoch}/{member.max_epochs}  {shown}"


def train_members(members: Sequence[Member], stop=None) -> list[dict[str, Any] | None]:
    """Train the members together; each writes its results.json, logs and checkpoints. Returns the
    results of each member (None for a member that failed; its results.json says why)."""

    ensemble = Ensemble(members)
    log.info("ensemble of %d members on %s: %s", ensemble.k, ensemble.device, ", ".join(m.name for m in members))
    while any(m.active for m in members):
        active = [m.active for m in members]
        seconds = ensemble.train_round()
        due = [i for i, m in enumerate(members) if active[i] and m.parts.evaluation.schedule.due(m.epoch)]
        evaluated = ensemble.evaluate(due)
        for i, member in enumerate(members):
            if not active[i]:
                continue
            means = member.train_means
            metrics = {f"train/{k}": v for k, v in means.items() if k != "loss_latent" or ensemble.loss.gamma != 0}
            if not all(map(math.isfinite, means.values())):
                member.error = (f"TrainingDiverged: the training loss became nan or inf in epoch {member.epoch}; "
                                "lower optimizer.lr (or attack.gamma, or the attack's step size) and run again")
                continue
            if i in evaluated:
                values = {k: float(v) for k, v in evaluated[i].items()}
                metrics.update({f"val/{k}": v for k, v in values.items()})
                member.parts.evaluation.epochs.append(member.epoch)
                member.parts.evaluation.aurocs.append(values["auroc"])
            member.rows.append((member.steps - 1, {**metrics, "epoch": member.epoch - 1}))
            every = member.checkpoint_every()
            if every and (member.epoch % every == 0 or member.epoch >= member.max_epochs):
                net = ensemble.member_net(i)
                member.save_checkpoint(ensemble.net.member_state(i), ensemble.optimizer.member_state(i), net)
            member.log(_line(member.epoch, member, metrics) + f"  {seconds:.1f} s for {sum(active)} members")
        if stop is not None and stop.requested:
            for i, member in enumerate(members):
                if member.active:
                    member.save_checkpoint(ensemble.net.member_state(i), ensemble.optimizer.member_state(i),
                                           ensemble.member_net(i))
            return [None] * len(members)
    results = []
    for i, member in enumerate(members):
        if member.error is not None:
            results.append(None)
            continue
        net = ensemble.member_net(i)
        loader = member.parts.datamodule.test_dataloader()
        test = {k: float(v) for k, v in anomaly_metrics(*loader_scores(net, loader)).items()}
        node = (member.cfg.get("callbacks") or {}).get("thresholded_f1")
        if node is not None:
            test.update(instantiate(node).compute(net, member.parts.datamodule))
        test = {k: float(torch.tensor(v, dtype=torch.float32)) for k, v in test.items()}  # as Lightning logs them
        results.append(member.complete(net, test))
    return results
