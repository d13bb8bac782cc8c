"""The paper's Table 5: AUROC when the normal test images are replaced by PGD examples that maximise
their reconstruction error (L-inf, eps in {0.05, 0.1}); anomalies stay clean.

Which reconstruction error: by default the attacked image's own, ||x' - AE(x')||^2, which is the anomaly
score the detector then computes (objective `score`); `clean` takes ARAE-R's ||x - AE(x')||^2 instead,
the distance of the reconstruction to the clean image. The paper does not say which it used.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from arae.attacks import PGD, LinfBall, Randomness, ReconstructionError, Stream
from arae.detector import Detector
from arae.errors import ConfigError
from arae.scoring import auroc, scores_of


class OwnReconstructionError:
    """Mean over pixels of (x' - AE(x'))^2: the anomaly score of the perturbed input itself."""

    name = "score"

    def reference(self, model: nn.Module, x: torch.Tensor) -> None:
        return None

    def __call__(self, model: nn.Module, x_adv: torch.Tensor, reference) -> torch.Tensor:
        return (model(x_adv) - x_adv).pow(2).flatten(1).mean(1)


OBJECTIVES = {"score": OwnReconstructionError, "clean": ReconstructionError}


def reconstruction_attack(eps: float, steps: int, objective: str) -> PGD:
    """The existing L-inf PGD (step size 2.5 eps / steps, random start) on a reconstruction error."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown attack objective {objective!r}; choose one of {sorted(OBJECTIVES)}")
    return PGD(LinfBall(eps), OBJECTIVES[objective](), steps=steps, step_size=None, random_start=True)


def attack_images(net: nn.Module, images: torch.Tensor, attack: PGD, rng: Randomness,
                  batch_size: int = 1024) -> torch.Tensor:
    """Attack `images` batch by batch on the net's device, the random starts drawn from `rng`.

    Runs outside any inference mode (Lightning's test/predict loops switch it on, and `enable_grad` alone
    cannot undo it), on clones of the inputs, which may be inference tensors.
    """
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode(False):
            out = [attack(net, batch.clone().to(device), rng).cpu() for batch in images.split(batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(out)


def attacked_normals(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, attack: PGD, seed: int) -> torch.Tensor:
    """The test set with every normal image (label 0) replaced by its adversarial example (random starts
    from a generator seeded with `seed`, on the net's device)."""
    normal = labels == 0
    attacked = images.clone()
    rng = Stream(torch.Generator(next(net.parameters()).device).manual_seed(int(seed)))
    attacked[normal] = attack_images(net, images[normal], attack, rng)
    return attacked


def robustness(
    detector: Detector,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilons: Sequence[float],
    steps: int,
    seed: int,
    objective: str,
) -> dict:
    """AUROC (and mean normal score) on the clean test set and after the attack at each eps (the settings
    of conf/analysis/, robustness)."""
    normal = labels == 0
    clean = scores_of(detector.net, images, detector.eval_batch_size)
    rows = {"clean": {"auroc": float(auroc(clean, labels)), "normal_score": float(clean[normal].mean())}}
    for eps in epsilons:
        attacked = attacked_normals(detector.net, images, labels, reconstruction_attack(eps, steps, objective), seed)
        scores = scores_of(detector.net, attacked, detector.eval_batch_size)
        rows[f"eps={eps:g}"] = {
            "auroc": float(auroc(scores, labels)),
            "normal_score": float(scores[normal].mean()),
        }
    return {
        "model": detector.name,
        "checkpoint": detector.metadata.get("checkpoint"),
        "steps": steps,
        "objective": objective,
        "results": rows,
    }
