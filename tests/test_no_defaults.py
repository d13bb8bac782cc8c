"""Every hyperparameter lives in conf/: the constructors of the objects built from it have no defaults for
them, so a key missing in a config fails at once instead of silently taking a value written twice."""

import inspect

import pytest

from arae.attacks import PGD, FGSMRandomStart, GridSpatial, L2Ball, LinfBall, UniformNoise, Union
from arae.data.protocols import HoldOut, ProtocolOne, ProtocolTwo
from arae.detector import ThresholdCalibration
from arae.training import ARAELoss, ARAEModule, BatchCrafting, EpochCrafting

BUILT_FROM_CONF = [PGD, FGSMRandomStart, GridSpatial, L2Ball, LinfBall, UniformNoise, Union, HoldOut, ProtocolOne,
                   ProtocolTwo, ThresholdCalibration, ARAELoss, ARAEModule, BatchCrafting, EpochCrafting]


@pytest.mark.parametrize("cls", BUILT_FROM_CONF, ids=lambda c: c.__name__)
def test_constructor_takes_every_setting_from_the_config(cls):
    defaulted = [p.name for p in inspect.signature(cls).parameters.values() if p.default is not inspect.Parameter.empty]
    assert defaulted == [], f"{cls.__name__} repeats defaults of conf/: {defaulted}"
