"""A minimal hand-written PyTorch loop doing the framework's arithmetic: the attack (hand-written where
there is an equivalent), one epoch of the paper's schedule, and one evaluation pass."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from arae.attacks import PGD, LatentDistance, LinfBall, NoAttack, default_stream
from arae.scoring import anomaly_metrics


def hand_linf_pgd(net, x, eps: float, steps: int, step_size: float) -> torch.Tensor:
    """L-inf PGD on the latent distance, written out: random start, sign steps, one clamp onto the box
    (the ball intersected with [0, 1]) per step, in place."""
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        reference = net.encode(x)
    low, high = (x - eps).clamp_(min=0.0), (x + eps).clamp_(max=1.0)
    x_adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp_(low, high)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        value = (net.encode(x_adv) - reference).pow(2).flatten(1).mean(1).sum()
        (grad,) = torch.autograd.grad(value, x_adv)
        x_adv = x_adv.detach().add_(grad.sign_().mul_(step_size)).clamp_(low, high)
    for p in net.parameters():
        p.requires_grad_(True)
    return x_adv


def hand_attack(attack):
    """A hand-written equivalent of the configured attack where there is one (none, L-inf PGD on the
    latent distance); otherwise the project's own attack object (framework-free plain PyTorch), called as
    `attack(net, x)` with torch's default generator, as the hand-written ones draw."""
    if isinstance(attack, NoAttack):
        return (lambda net, x: x), "hand-written"
    if (
        type(attack) is PGD
        and type(attack.ball) is LinfBall
        and type(attack.objective) is LatentDistance
        and attack.random_start
    ):
        return (lambda net, x: hand_linf_pgd(net, x, attack.ball.eps, attack.steps, attack.step_size)), "hand-written"
    return (lambda net, x: attack(net, x, default_stream(x.device))), "attack object"


def autocast_attack(attack, device: torch.device, dtype: str):
    def run(net, x):
        with torch.autocast(device_type=device.type, dtype=getattr(torch, dtype)):
            return attack(net, x).to(x.dtype)

    return run


def hand_epoch(net, optimizer, images, attack, gamma: float, batch_size: int, chunk: int,
               train_dtype: torch.dtype | None = None) -> None:
    """One epoch of the paper's schedule: attack the whole set, then Adam steps over shuffled batches.
    An attack may return k examples per image (k blocks); the clean batch is then repeated k times.
    `train_dtype` (bfloat16 for bf16-mixed) runs the training step's forward under autocast."""
    from contextlib import nullcontext

    blocks = []
    for c in images.split(chunk):
        out = attack(net, c).detach()
        blocks.append(out.view(-1, *c.shape))
    adversarial = torch.cat(blocks, dim=1)
    k = adversarial.shape[0]
    for index in torch.randperm(len(images), device=images.device).split(batch_size):
        x, x_adv = images[index], adversarial[:, index].flatten(0, 1)
        cast = nullcontext() if train_dtype is None else torch.autocast(images.device.type, dtype=train_dtype)
        with cast:
            z_adv = net.encode(x_adv)
            loss = (x.repeat(k, 1, 1, 1) - net.decode(z_adv)).float().pow(2).flatten(1).mean(1).mean()
            if gamma:
                loss = loss + gamma * (z_adv - net.encode(x).repeat(k, 1)).float().pow(2).flatten(1).mean(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def hand_eval(net, images, labels, batch_size: int) -> dict:
    with torch.no_grad():
        scores = torch.cat([(x - net(x)).pow(2).flatten(1).sum(1) for x in images.split(batch_size)])
    return anomaly_metrics(scores, labels)


def train_dtype(cfg: DictConfig) -> torch.dtype | None:
    """The autocast dtype of the training step under the configured trainer.precision (None: float32)."""
    precision = str(cfg.trainer.get("precision") or "32")
    return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
