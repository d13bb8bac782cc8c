"""Protocol 1 (conf/protocol/p1.yaml, and p1_coil.yaml for COIL-100): the official splits merged and shuffled
with the seed; `train_fraction` of the normal images train, the rest are the test normals, joined by
anomalies drawn from the other classes so that normals make up the fraction `tau` of the test set. With
`validation`, `validation_fraction` of the training normals, plus anomalies in tau's proportion, form a
validation split. With `n_normal`, the normal classes are `n_normal` classes drawn with the seed from the
classes that have images (COIL-100's protocol), and `normal_class` is not used."""

from __future__ import annotations

import torch

from arae.data.protocols.holdout import HoldOut
from arae.data.splits import draw_classes


class ProtocolOne(HoldOut):
    def __init__(
        self,
        source,
        normal_class,
        *,
        train_fraction: float,
        tau: float,
        validation: bool,
        validation_fraction: float,
        n_normal: int | None,
        name: str,
        batch_size: int,
        eval_batch_size: int,
        seed: int,
    ) -> None:
        super().__init__(
            source,
            normal_class,
            train_fraction=train_fraction,
            name=name,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            seed=seed,
        )
        self.tau = None if tau is None else float(tau)
        self.validation_fraction = float(validation_fraction) if validation else 0.0
        self.n_normal = None if n_normal is None else int(n_normal)

    def _choose_normals(self, labels: torch.Tensor) -> tuple[int, ...]:
        if self.n_normal is not None:
            return draw_classes(labels, self.n_normal, self.seed)
        return super()._choose_normals(labels)
