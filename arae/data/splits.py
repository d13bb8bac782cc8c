"""Seeded splits of a pooled data set into train / validation / test, as pure functions of their arguments:
the same (labels, normal classes, fractions, tau, seed) always give the same indices."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from arae.errors import ConfigError, DataError


@dataclass(frozen=True)
class HeldOutSplit:
    """Indices into the pooled data. Validation is empty when no validation set was asked for."""

    train: torch.Tensor
    val_normal: torch.Tensor
    val_anomaly: torch.Tensor
    test_normal: torch.Tensor
    test_anomaly: torch.Tensor



def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def anomalies_for(n_normal: int, tau: float) -> int:
    """How many anomalies make `n_normal` normal images the fraction `tau` of a set (rounded)."""
    return int(round(n_normal * (1.0 - tau) / tau))


def draw_classes(present: torch.Tensor, n: int, seed: int) -> tuple[int, ...]:
    """`n` classes drawn at random (seeded) from the classes that have images."""
    present = torch.unique(present)
    if not 1 <= n < len(present):
        raise ConfigError(
            f"protocol.n_normal={n} cannot be drawn from the {len(present)} classes present; "
            f"use 1..{len(present) - 1}"
        )
    order = torch.randperm(len(present), generator=_generator(seed))
    return tuple(sorted(int(c) for c in present[order[:n]]))


def held_out_split(
    is_normal: torch.Tensor,
    train_fraction: float,
    tau: float | None,
    seed: int,
    validation_fraction: float = 0.0,
) -> HeldOutSplit:
    """Shuffle normal and anomalous images with `seed`; `train_fraction` of the normal images train, the
    rest are the test normals. With `tau`, anomalies are drawn so that normals make up the fraction `tau`
    of the test set (protocol 1); without it, every anomaly is tested (the medical hold-out protocol).
    `validation_fraction` of the training normals move to a validation set, joined by anomalies in the
    test set's proportion (disjoint from the test anomalies)."""
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"protocol.train_fraction must lie in (0, 1), got {train_fraction}")
    if tau is not None and not 0.0 < tau < 1.0:
        raise ConfigError(
            f"protocol.tau={tau} must lie strictly between 0 and 1: it is the share of normal images in the "
            "test set, and the test set needs normal and anomalous images; e.g. protocol.tau=0.5"
        )
    if not 0.0 <= validation_fraction < 1.0:
        raise ConfigError(f"protocol.validation_fraction must lie in [0, 1), got {validation_fraction}")
    if validation_fraction > 0 and tau is None:
        raise ConfigError("a validation set needs protocol.tau (its share of normal images); set protocol.tau")
    generator = _generator(seed)
    normals = torch.nonzero(is_normal).flatten()
    anomalies = torch.nonzero(~is_normal).flatten()
    normals = normals[torch.randperm(len(normals), generator=generator)]
    anomalies = anomalies[torch.randperm(len(anomalies), generator=generator)]

    n_train = int(round(train_fraction * len(normals)))
    n_val = int(round(validation_fraction * n_train))
    if n_train - n_val < 1 or len(normals) - n_train < 1:
        raise DataError(
            f"{len(normals)} normal images are too few to split {train_fraction:.0%} / {1 - train_fraction:.0%} "
            f"with a validation share of {validation_fraction:.0%}; choose more normal classes or another split"
        )
    val_normal, train, test_normal = normals[:n_val], normals[n_val:n_train], normals[n_train:]
    if tau is None:
        test_anomaly, val_anomaly = anomalies, anomalies[:0]
    else:
        n_test_anomaly, n_val_anomaly = anomalies_for(len(test_normal), tau), anomalies_for(n_val, tau)
        for part, normal, anomalous in (("test", len(test_normal), n_test_anomaly), ("validation", n_val, n_val_anomaly)):
            if normal and not anomalous:
                raise ConfigError(
                    f"protocol.tau={tau} leaves 0 anomalies in the {part} split ({normal} normal images make up "
                    f"{tau:.4%} of it); lower protocol.tau, e.g. protocol.tau=0.5"
                )
        if n_test_anomaly + n_val_anomaly > len(anomalies):
            raise DataError(
                f"tau={tau} needs {n_test_anomaly} test and {n_val_anomaly} validation anomalies but only "
                f"{len(anomalies)} anomalous images exist; raise protocol.tau or choose fewer normal classes"
            )
        test_anomaly = anomalies[:n_test_anomaly]
        val_anomaly = anomalies[n_test_anomaly : n_test_anomaly + n_val_anomaly]
    return HeldOutSplit(train, val_normal, val_anomaly, test_normal, test_anomaly)
