"""The image-file data sets, read from fake copies in their real layouts, and the protocols over them."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import conf_settings, data_source, protocol

from arae.errors import ConfigError, DataError
from arae.models import ConvAutoencoder


def test_coil_reads_what_exists_and_says_what_is_missing(image_root):
    source = data_source("coil100", path=image_root / "coil-100", image_size=16)
    images, labels = source.pooled()
    assert images.shape == (79, 3, 16, 16) and images.dtype == torch.uint8
    assert sorted(labels.unique().tolist()) == list(range(1, 11))  # class = object number - 1; obj1 absent
    (note,) = source.notes
    assert "79 of 7200" in note and "missing entirely: obj1, obj12" in note and "obj3 (65)" in note


def test_coil_draw_uses_present_objects_and_protocol_two_refuses(image_root):
    source = data_source("coil100", path=image_root / "coil-100", image_size=16)
    for seed in range(6):
        dm = protocol("p1_coil", source, normal_class=None, seed=seed, n_normal=4)
        dm.setup()
        assert len(dm.normal_classes) == 4 and 0 not in dm.normal_classes
        assert dm.report()["data_notes"]
    with pytest.raises(DataError, match="obj1"):
        protocol("p1", source, normal_class=0).setup()
    with pytest.raises(ConfigError, match="protocol=p1"):
        protocol("p2", source, normal_class=3).setup()


def test_image_folder_classes_are_sorted_subfolders(image_root):
    source = data_source("folder", path=image_root / "cifar10-jpg", image_size=32)
    assert source.classes[0] == "airplane" and source.classes[8] == "ship"
    images, labels = source.split(train=True)
    assert images.shape == (80, 3, 32, 32) and labels.bincount().tolist() == [8] * 10
    assert source.split(train=False)[0].shape[0] == 40


def test_image_folder_missing_folder_says_what_to_set(tmp_path):
    with pytest.raises(DataError, match="ARAE_DATA_DIR"):
        data_source("folder", path=tmp_path / "nothing").split(train=True)


def test_head_ct_labels_and_holdout(image_root):
    source = data_source("head_ct", path=image_root / "head_ct", image_size=32)
    images, labels = source.pooled()
    assert images.shape == (20, 1, 32, 32) and labels[:10].eq(1).all() and labels[10:].eq(0).all()
    dm = protocol("holdout", source, normal_class=0)
    dm.setup()
    assert len(dm.train_set()) == 9 and dm.test_set().labels.tolist() == [0] + [1] * 10


def test_head_ct_bad_labels_file_is_named(image_root, tmp_path):
    import shutil

    folder = tmp_path / "head_ct"
    shutil.copytree(image_root / "head_ct", folder)
    (folder / "labels.csv").write_text("id, hemorrhage\n0,1\n1,maybe\n")
    with pytest.raises(DataError, match="labels.csv line 3"):
        data_source("head_ct", path=folder).pooled()


def test_brain_mri_mixed_files(image_root):
    images, labels = data_source("brain_mri", path=image_root / "brain_mri", image_size=32).pooled()
    assert images.shape == (20, 1, 32, 32) and labels.bincount().tolist() == [12, 8]


def test_cifar_pickles(image_root):
    source = data_source("cifar10", root=image_root, download=False)
    images, labels = source.split(train=True)
    assert images.shape == (100, 3, 32, 32) and len(labels) == 100
    missing = data_source("cifar10", root=image_root / "nowhere", download=False)
    with pytest.raises(DataError, match="cifar10_jpg"):
        missing.split(train=True)


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (Path(self.marker),)


def crafted_cifar(image_root, tmp_path, entry) -> Path:
    """A copy of the fake CIFAR-10 whose first training batch is `entry`, pickled."""
    folder = shutil.copytree(image_root / "cifar-10-batches-py", tmp_path / "cifar-10-batches-py")
    (folder / "data_batch_1").write_bytes(pickle.dumps(entry, protocol=2))
    return tmp_path


def test_a_crafted_cifar_batch_runs_no_code(image_root, tmp_path):
    marker = tmp_path / "payload-ran"
    root = crafted_cifar(image_root, tmp_path, {"data": Payload(marker), "labels": [0]})
    with pytest.raises(DataError, match="data_batch_1"):
        data_source("cifar10", root=root, download=False).split(train=True)
    assert not marker.exists()


def test_cifar_batches_pickled_by_old_numpy_still_read(image_root, tmp_path):
    """The published batches name numpy.core (NumPy 1), not numpy._core."""
    data = np.zeros((20, 3072), dtype=np.uint8)
    root = crafted_cifar(image_root, tmp_path, {"batch_label": "x", "data": data, "labels": [1] * 20,
                                                "filenames": ["a.png"] * 20})
    old = (root / "cifar-10-batches-py" / "data_batch_1").read_bytes().replace(b"numpy._core", b"numpy.core")
    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(old)
    assert b"numpy.core.multiarray" in old
    images, labels = data_source("cifar10", root=root, download=False).split(train=True)
    assert images.shape == (100, 3, 32, 32) and labels[:20].tolist() == [1] * 20


def test_conv_autoencoder_shapes_and_size_check():
    for shape in [(3, 32, 32), (1, 128, 128), (1, 16, 48)]:
        net = ConvAutoencoder(shape, **{**conf_settings("model/conv"), "latent_dim": 20})
        x = torch.rand(2, *shape)
        assert net.encode(x).shape == (2, 20) and net(x).shape == x.shape
        assert 0 <= net(x).min() and net(x).max() <= 1
    with pytest.raises(ConfigError, match="multiples of 16"):
        ConvAutoencoder((1, 28, 28), **conf_settings("model/conv"))
