"""The DataModule base (arae/data/protocols/base.py): every protocol of conf/protocol/ has its shape."""

import inspect

import pytest
import torch
from conftest import REPO, data_source, protocol, protocol_config
from hydra.utils import get_class, instantiate

from arae.data.protocols import ProtocolDataModule
from arae.errors import ConfigError

CONFIGS = sorted(p.stem for p in (REPO / "conf" / "protocol").glob("*.yaml"))


@pytest.mark.parametrize("name", CONFIGS)
def test_each_config_names_a_class_of_the_base_in_the_file_of_its_name(name):
    cls = get_class(protocol_config(name)._target_)
    assert issubclass(cls, ProtocolDataModule)
    assert cls.__module__ == f"arae.data.protocols.{name.removesuffix('_coil')}"  # p1_coil is p1, drawn classes


@pytest.mark.parametrize("name", CONFIGS)
def test_constructors_take_every_setting_from_the_config_and_default_none(name):
    config = protocol_config(name)
    parameters = inspect.signature(get_class(config._target_)).parameters
    assert [p for p in parameters.values() if p.default is not inspect.Parameter.empty] == []
    assert set(parameters) == {"source", "normal_class", "seed", *config} - {"_target_"}


def test_a_key_missing_from_the_config_fails_loudly(fake_root):
    config = protocol_config("p2")
    del config["eval_batch_size"]
    with pytest.raises(Exception, match="eval_batch_size"):
        instantiate(config, source=data_source("mnist", root=fake_root), normal_class=1, seed=0)


@pytest.fixture(params=["p2", "p1", "p1 validation", "holdout"])
def datamodule(request, fake_root, image_root):
    mnist = data_source("mnist", root=fake_root)
    if request.param == "holdout":
        return protocol("holdout", data_source("head_ct", path=image_root / "head_ct", image_size=16), 0, batch_size=4)
    name, *validation = request.param.split()
    return protocol(name, mnist, normal_class=3, batch_size=16, **({"validation": True} if validation else {}))


def _served(loader) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*loader)
    return torch.cat(images), torch.cat(labels)


def _rows(images: torch.Tensor) -> list[tuple]:
    return sorted(tuple(x.flatten().tolist()) for x in images)


def test_the_splits_loaders_and_report_of_every_protocol(datamodule):
    with pytest.raises(RuntimeError, match="setup"):
        datamodule.train_set()
    datamodule.setup("fit")
    train, test, val = datamodule.train_set(), datamodule.test_set(), datamodule.val_set()
    datamodule.setup("test")
    assert datamodule.train_set() is train and datamodule.test_set() is test  # it splits once
    assert train.dtype == torch.float32 and 0 <= train.min() and train.max() <= 1
    assert datamodule.image_shape == tuple(train.shape[1:])
    x, index = next(iter(datamodule.train_dataloader()))
    assert torch.equal(train[index], x)  # batch positions index train_set()

    normal = torch.tensor(datamodule.normal_classes)
    assert len(test.images) == len(test.labels) == len(test.classes) and set(test.labels.tolist()) == {0, 1}
    assert torch.equal(test.labels.bool(), ~torch.isin(test.classes, normal))
    assert datamodule.has_validation == (val is not None) == (datamodule.name == "p1" and datamodule.validation_fraction > 0)
    monitored = val if val is not None else test
    assert all(torch.equal(a, b) for a, b in zip(_served(datamodule.eval_dataloader()), monitored[:2]))
    assert all(torch.equal(a, b) for a, b in zip(_served(datamodule.test_dataloader()), test[:2]))

    report = datamodule.report()
    assert report["n_train"] == len(train) and report["n_test"] == len(test.labels)
    sizes = report["split_sizes"]
    assert sizes["train"] == len(train) and sizes["test_anomaly"] == int(test.labels.sum())
    assert sizes["test_normal"] + sizes["test_anomaly"] == len(test.labels)
    assert ("val_normal" in sizes) == datamodule.has_validation and isinstance(report["data_notes"], list)


def test_the_calibration_split_leaves_training_and_nothing_else(datamodule):
    datamodule.setup()
    full, test, val = datamodule.train_set(), datamodule.test_set(), datamodule.val_set()
    assert datamodule.calibration_split(0.0, seed=1) is full and datamodule.train_set() is full
    held = datamodule.calibration_split(0.25, seed=1)
    rest = datamodule.train_set()
    assert len(held) == round(0.25 * len(full)) and _rows(torch.cat([held, rest])) == _rows(full)
    assert datamodule.test_set() is test and datamodule.val_set() is val
    x, index = next(iter(datamodule.train_dataloader()))
    assert torch.equal(rest[index], x)  # training serves what is left
    report = datamodule.report()
    assert report["n_train"] == len(rest) and report["split_sizes"]["train"] == len(full)
    again = datamodule.calibration_split(0.25, seed=1)  # drawn from the whole split again, not from `rest`
    assert torch.equal(again, held) and torch.equal(datamodule.train_set(), rest)
    assert not torch.equal(datamodule.calibration_split(0.25, seed=2), held)
    with pytest.raises(ConfigError, match="holdout_fraction"):
        datamodule.calibration_split(0.999, seed=1)


def test_the_training_order_travels_in_the_state_dict(fake_root):
    def fresh():
        datamodule = protocol("p2", data_source("mnist", root=fake_root), normal_class=1, batch_size=8)
        datamodule.setup()
        return datamodule

    def first_positions(datamodule):
        return next(iter(datamodule.train_dataloader()))[1]

    ran, resumed = fresh(), fresh()
    epoch_one = first_positions(ran)
    resumed.load_state_dict(ran.state_dict())
    epoch_two = first_positions(ran)
    assert torch.equal(first_positions(resumed), epoch_two) and not torch.equal(epoch_two, epoch_one)
