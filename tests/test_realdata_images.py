"""The image data sets of the shared copy (ARAE_DATA_DIR): counts and what is missing; skipped without it."""

import json

import pytest
from conftest import REAL_DATA, data_source, run_train

FOLDERS = {"coil100": "coil-100", "head_ct": "head_ct", "brain_mri": "brain_mri", "cifar10_jpg": "cifar10-jpg"}


def need(name):
    if not (REAL_DATA / FOLDERS[name]).is_dir():
        pytest.skip(f"no {FOLDERS[name]}/ under ARAE_DATA_DIR={REAL_DATA} (set ARAE_DATA_DIR to a folder that holds it)")


@pytest.mark.realdata
def test_real_coil_copy_lacks_obj1_and_says_so():
    need("coil100")
    source = data_source("coil100", path=REAL_DATA / "coil-100")
    images, labels = source.pooled()
    assert images.shape == (7098, 3, 32, 32) and 0 not in labels.tolist() and len(labels.unique()) == 99
    assert "7098 of 7200" in source.notes[0] and "missing entirely: obj1;" in source.notes[0]


@pytest.mark.realdata
@pytest.mark.parametrize("name, counts", [("head_ct", [100, 100]), ("brain_mri", [98, 155])])
def test_real_medical_sets(name, counts):
    need(name)
    images, labels = data_source(name, path=REAL_DATA / FOLDERS[name], image_size=64, mode="L").pooled()
    assert images.shape[1:] == (1, 64, 64) and labels.bincount().tolist() == counts


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize(
    "args",
    [
        ["dataset=coil100"],
        ["dataset=head_ct", "dataset.source.image_size=64"],
        ["dataset=brain_mri", "dataset.source.image_size=64"],
        ["dataset=fashion_mnist", "protocol=p1", "protocol.validation=true"],
        ["dataset=cifar10_jpg"],
    ],
)
def test_one_epoch_on_real_data(tmp_path, args):
    name = args[0].split("=")[1]
    if name in FOLDERS:
        need(name)
    extra = ["trainer.max_epochs=1", "attack.adversary.steps=5", "logger=none", "trainer.enable_progress_bar=false"]
    proc = run_train([*args, *extra], REAL_DATA, tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = tmp_path.rglob("results.json")
    assert json.loads(path.read_text())["status"] == "completed"
