import numpy as np
import pytest
import torch
from conftest import data_source, protocol

from arae.data import build_source
from arae.data.classes import class_list, normal_classes
from arae.data.idx import read_idx, write_idx
from arae.errors import ConfigError, DataError


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte", array)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte"), array)


def test_truncated_idx_file_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((4, 5, 5), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_not_an_idx_file(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_missing_data_without_download_says_where_and_what_to_set(tmp_path):
    source = data_source("mnist", root=tmp_path, download=False)
    with pytest.raises(DataError) as info:
        source.split(train=True)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "ARAE_DATA_DIR" in message


def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(tvd, "MNIST", offline)
    with pytest.raises(DataError, match="connect to the internet"):
        data_source("mnist", root=tmp_path).split(train=True)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="fashion_mnist"):
        build_source("mnsit", root=".")


@pytest.mark.parametrize(
    "value, match",
    [(12, "does not exist"), (-1, "does not exist"), ([], "empty"), ([3, 3], "twice"), (list(range(10)), "every class")],
)
def test_bad_normal_classes(value, match):
    with pytest.raises(ConfigError, match=match):
        normal_classes(value, 10, "mnist")


def test_normal_classes_accepts_int_and_list():
    assert normal_classes(8, 10, "mnist") == (8,)
    assert normal_classes([5, 4], 10, "mnist") == (4, 5)


def test_protocol_two_splits(fake_root):
    dm = protocol("p2", data_source("mnist", root=fake_root), normal_class=[4, 5], batch_size=16)
    dm.setup("fit")
    train, test = dm.train_set(), dm.test_set()
    assert train.shape == (80, 1, 28, 28)
    assert train.dtype == torch.float32
    assert 0.0 <= train.min() and train.max() <= 1.0
    assert len(test.labels) == 120 and int(test.labels.sum()) == 96  # the 8 other classes, 12 each
    x, index = next(iter(dm.train_dataloader()))
    assert x.shape == (16, 1, 28, 28) and torch.equal(train[index], x)
    x, labels = next(iter(dm.test_dataloader()))
    assert len(x) == 120 and set(labels.tolist()) == {0, 1}


def test_shuffling_is_seeded(fake_root):
    def first_batch(seed):
        dm = protocol("p2", data_source("mnist", root=fake_root), normal_class=1, seed=seed, batch_size=8)
        dm.setup()
        return next(iter(dm.train_dataloader()))[1]

    assert torch.equal(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))


def test_normal_classes_accepts_a_quoted_list():
    assert normal_classes("[4,5]", 10, "mnist") == (4, 5)
    assert normal_classes("7", 10, "mnist") == (7,)


@pytest.mark.parametrize(
    "value, items, tag",
    [(8, [8], "8"), ([5, 4], [5, 4], "5_4"), ("[4,5]", ["4", "5"], "4_5"), (" [4, 5] ", ["4", "5"], "4_5"), ("7", ["7"], "7")],
)
def test_one_parser_reads_the_setting_for_run_names_and_checks(value, items, tag):
    from omegaconf import OmegaConf

    from arae.config import classes_tag

    assert class_list(value) == items and classes_tag(value) == tag
    if isinstance(value, list):
        assert classes_tag(OmegaConf.create({"c": value}).c) == tag  # as a resolver receives a list
    assert normal_classes(value, 10, "mnist") == tuple(sorted(int(i) for i in items))
