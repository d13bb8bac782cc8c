from arae.training.checkpointing import EpochCheckpoint
from arae.training.crafting import BatchCrafting, EpochCrafting
from arae.training.losses import ARAELoss
from arae.training.module import ARAEModule
from arae.training.thresholded_f1 import ThresholdedF1
from arae.training.timing import EpochTimer, TrainingBudget

__all__ = ["EpochCheckpoint", "ARAEModule", "ARAELoss", "EpochCrafting", "BatchCrafting", "EpochTimer", "TrainingBudget", "ThresholdedF1"]
