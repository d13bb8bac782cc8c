"""Trained detectors outside training: the threshold stored with each checkpoint, loading and scoring."""

from arae.detector.calibration import ThresholdCalibration
from arae.detector.checkpoint import DetectorExport, read_checkpoint
from arae.detector.detector import Detector, load_detector
from arae.detector.images import collect_paths, load_images

__all__ = [
    "ThresholdCalibration",
    "DetectorExport",
    "read_checkpoint",
    "Detector",
    "load_detector",
    "collect_paths",
    "load_images",
]
