"""Every data set x protocol pair through train.py (Hydra multiruns to share one start-up), one tiny epoch
each, on fake data in the real on-disk layouts."""

import json

import pytest
from conftest import TINY, run_train

ONE_EPOCH = [*TINY, "trainer.max_epochs=1", "attack.adversary.steps=2"]


def job_results(cwd):
    files = sorted((cwd / "multirun_outputs").rglob("results.json"))
    return {f.parent.name: json.loads(f.read_text()) for f in files}


def run_sweep(args, root, cwd):
    proc = run_train(["-m", *ONE_EPOCH, *args], root, cwd, timeout=600)
    results = job_results(cwd)
    failed = {k: v.get("error") for k, v in results.items() if v["status"] != "completed"}
    assert proc.returncode == 0 and not failed, (failed, proc.stderr[-3000:])
    return results


def test_image_data_sets_with_their_own_protocols(image_root, tmp_path):
    """COIL-100 (p1_coil, MLP), Head CT and Brain MRI (hold-out, conv AE), CIFAR-10 folder (p2, conv AE)."""
    results = run_sweep(
        ["dataset=coil100,head_ct,brain_mri,cifar10_jpg", "++dataset.source.image_size=16"], image_root, tmp_path
    )
    by_data = {r["dataset"]: r for r in results.values()}
    assert set(by_data) == {"coil100", "head_ct", "brain_mri", "cifar10_jpg"}
    coil = by_data["coil100"]
    assert coil["protocol"] == "p1" and coil["run_name"] == "linf-coil100-n1-s0" and len(coil["normal_classes"]) == 1
    assert coil["split_sizes"]["test_normal"] == coil["split_sizes"]["test_anomaly"]  # tau = 0.5
    assert "obj1" in coil["data_notes"][0] and "f1_anomaly_max" in coil["test"]
    assert coil["config"]["attack"]["adversary"]["steps"] == 2 and coil["config"]["dataset"]["batch_size"] == 64
    for name in ("head_ct", "brain_mri"):
        r = by_data[name]
        assert r["protocol"] == "holdout" and r["normal_classes"] == [0]
        assert r["config"]["model"]["_target_"].endswith("ConvAutoencoder")
        assert r["split_sizes"]["test_anomaly"] == {"head_ct": 10, "brain_mri": 8}[name]
    assert by_data["head_ct"]["n_train"] == 9 and by_data["brain_mri"]["n_train"] == 11
    assert by_data["cifar10_jpg"]["protocol"] == "p2" and by_data["cifar10_jpg"]["n_test"] == 40
    for r in results.values():
        assert 0.0 <= r["test"]["auroc"] <= 1.0 and r["seconds_per_epoch"] > 0


def test_protocol_one_with_validation_on_every_labelled_set(image_root, tmp_path):
    """MNIST, Fashion-MNIST, CIFAR-10 (pickles), a folder and COIL-100 under protocol 1 with validation."""
    results = run_sweep(
        ["dataset=mnist,fashion_mnist,cifar10,coil100", "protocol=p1", "protocol.validation=true",
         "protocol.tau=0.6", "normal_class=3"],
        image_root,
        tmp_path,
    )
    assert len(results) == 4
    for r in results.values():
        sizes = r["split_sizes"]
        assert sizes["val_normal"] > 0 and sizes["val_anomaly"] > 0
        assert abs(sizes["test_normal"] / (sizes["test_normal"] + sizes["test_anomaly"]) - 0.6) < 0.2
        assert 0.0 <= r["test"]["f1_anomaly_at_val_threshold"] <= 1.0
        assert r["normal_classes"] == [3]


def test_protocols_on_a_user_image_folder(image_root, tmp_path):
    results = run_sweep(
        ["dataset=folder", f"dataset.source.path={image_root / 'cifar10-jpg'}", "dataset.source.image_size=8",
         "protocol=p2,p1", "normal_class=8", "callbacks.thresholded_f1.positive=normal"],
        image_root,
        tmp_path,
    )
    protocols = {r["protocol"]: r for r in results.values()}
    assert set(protocols) == {"p1", "p2"}
    assert protocols["p2"]["n_train"] == 8 and protocols["p2"]["n_test"] == 40
    assert protocols["p1"]["n_train"] == 10 and "f1_normal_max" in protocols["p1"]["test"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["dataset=folder"], "dataset.source.path"),
        (["dataset=coil100", "protocol=p2"], "use protocol=p1"),
        (["dataset=coil100", "protocol.n_normal=200"], "protocol.n_normal=200"),
        (["dataset=head_ct", "dataset.source.image_size=20"], "multiples of 16"),
        (["dataset=mnist", "protocol=p1", "protocol.tau=0.05", "normal_class='[0,1,2,3,4,5,6,7]'"], "raise protocol.tau"),
    ],
)
def test_bad_data_settings_give_one_clear_message(image_root, tmp_path, args, message):
    proc = run_train([*ONE_EPOCH, *args], image_root, tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_unreadable_image_stops_the_run_naming_the_file(image_root, tmp_path):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(image_root / "brain_mri", root / "brain_mri")
    (root / "brain_mri" / "no" / "3 no.jpg").write_bytes(b"not a jpeg")
    proc = run_train([*ONE_EPOCH, "dataset=brain_mri", "dataset.source.image_size=16"], root, tmp_path)
    assert proc.returncode == 2
    assert "cannot read image" in proc.stderr and "3 no.jpg" in proc.stderr and "Traceback" not in proc.stderr
