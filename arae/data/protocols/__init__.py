"""The protocols that split a data set (LightningDataModules on one base, base.py), one file each, named
as their config in conf/protocol/ (p1_coil.yaml is p1 with drawn normal classes)."""

from arae.data.protocols.base import Labelled, ProtocolDataModule, Splits, to_unit
from arae.data.protocols.holdout import HoldOut
from arae.data.protocols.p1 import ProtocolOne
from arae.data.protocols.p2 import ProtocolTwo

__all__ = ["HoldOut", "Labelled", "ProtocolDataModule", "ProtocolOne", "ProtocolTwo", "Splits", "to_unit"]
