"""ARAEModule.load_from_checkpoint: the Lightning way back from a checkpoint train.py wrote."""

import pytest
import pytorch_lightning as pl
import torch
from detector_runs import shared_runs

import arae
from arae.attacks import PGD
from arae.scoring import anomaly_score
from arae.training import ARAEModule, EpochCrafting


def test_load_from_checkpoint_rebuilds_the_trained_module(fake_root, tmp_path_factory):
    checkpoint = shared_runs(fake_root, tmp_path_factory)["a"] / "checkpoints" / "last.ckpt"
    module = ARAEModule.load_from_checkpoint(checkpoint)
    assert isinstance(module.attack, PGD) and module.attack.steps == 3  # the run's attack, not a default
    assert isinstance(module.crafting, EpochCrafting) and module.loss.gamma == 0.1
    assert module.hparams["image_shape"] == [1, 28, 28]

    images = torch.rand(6, 1, 28, 28)
    detector = arae.load_detector(checkpoint)
    module.eval()
    with torch.no_grad():
        assert torch.allclose(anomaly_score(module.net, images), torch.as_tensor(detector.score(images)).float())


def test_a_loaded_module_trains_on(fake_root, tmp_path_factory):
    runs = shared_runs(fake_root, tmp_path_factory)
    module = ARAEModule.load_from_checkpoint(runs["a"] / "checkpoints" / "last.ckpt")
    before = [p.detach().clone() for p in module.net.parameters()]
    datamodule = _datamodule(fake_root)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=datamodule)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.net.parameters()))


def _datamodule(root):
    from conftest import data_source, protocol

    datamodule = protocol("p2", data_source("mnist", root=str(root), download=False), normal_class=8, batch_size=16)
    datamodule.setup("fit")
    return datamodule
class Payload:
    """Unpickling it would create `marker`: what a crafted checkpoint could do with any code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (Path(self.marker),)


def test_a_crafted_checkpoint_runs_no_code(fake_root, tmp_path_factory, tmp_path):
    from arae.errors import DataError

    checkpoint = torch.load(shared_runs(fake_root, tmp_path_factory)["a"] / "checkpoints" / "last.ckpt",
                            weights_only=True)
    marker = tmp_path / "payload-ran"
    checkpoint["hyper_parameters"]["payload"] = Payload(marker)
    torch.save(checkpoint, tmp_path / "crafted.ckpt")
    with pytest.raises(DataError, match="not a checkpoint written by arae's train.py"):
        ARAEModule.load_from_checkpoint(tmp_path / "crafted.ckpt")
    assert not marker.exists()
