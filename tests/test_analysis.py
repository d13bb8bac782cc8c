"""Robustness under attack (Table 5) and the figures (1, 5, 6, 7) from checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import mlp

from arae.analysis.cli import main as analyze
from arae.analysis.minima import descend
from arae.analysis.occlusion import occlusion_map
from arae.analysis.robustness import attacked_normals, reconstruction_attack
from arae.scoring import scores_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"




@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return mlp((1, 8, 8), hidden_dims=(32, 16)).eval()


@pytest.mark.parametrize("eps", [0.05, 0.1])
def test_attack_raises_the_error_of_normals_and_keeps_its_bound(net, eps):
    torch.manual_seed(1)
    images = torch.rand(40, 1, 8, 8)
    labels = torch.tensor([0, 1] * 20)
    attacked = attacked_normals(net, images, labels, reconstruction_attack(eps, steps=10, objective="score"), seed=0)
    normal = labels == 0
    assert torch.equal(attacked[~normal], images[~normal])  # anomalies stay clean
    delta = attacked[normal] - images[normal]
    assert delta.abs().max() <= eps + 1e-6 and attacked.min() >= 0 and attacked.max() <= 1
    assert (scores_of(net, attacked[normal], 64) > scores_of(net, images[normal], 64)).all()


def test_attack_works_inside_inference_mode(net):
    """Lightning's test/predict loops run under inference mode, where enable_grad alone is not enough."""
    with torch.inference_mode():
        images = torch.rand(8, 1, 8, 8)
        attacked = attacked_normals(net, images, torch.zeros(8, dtype=torch.long), reconstruction_attack(0.1, steps=5, objective="score"), seed=0)
    assert (scores_of(net, attacked, 64) > scores_of(net, images, 64)).all()


def test_occlusion_map_has_the_image_shape_and_is_zero_on_black_pixels(net):
    image = torch.rand(1, 8, 8)
    image[:, :3] = 0.0  # black rows: occluding them changes nothing
    saliency = occlusion_map(net, image, patch=1)
    assert saliency.shape == image.shape[-2:]
    assert torch.all(saliency[:3] == 0)
    assert torch.all(saliency[3:] != 0)
    # one entry by hand: the change of the error when pixel (5, 2) is blacked out
    occluded = image.clone()
    occluded[:, 5, 2] = 0
    expected = scores_of(net, occluded[None], 64)[0] - scores_of(net, image[None], 64)[0]
    assert torch.isclose(saliency[5, 2], expected)


def test_a_larger_occlusion_patch_blacks_out_the_square_around_each_pixel(net):
    image = torch.rand(1, 8, 8)
    saliency = occlusion_map(net, image, patch=3)
    occluded = image.clone()
    occluded[:, 4:7, 1:4] = 0  # the 3x3 square around (5, 2)
    expected = scores_of(net, occluded[None], 64)[0] - scores_of(net, image[None], 64)[0]
    assert saliency.shape == (8, 8) and torch.isclose(saliency[5, 2], expected)
    corner = image.clone()
    corner[:, :2, :2] = 0  # clipped at the border
    assert torch.isclose(saliency[0, 0], scores_of(net, corner[None], 64)[0] - scores_of(net, image[None], 64)[0])


def test_local_minima_descend_the_error(net):
    start = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    end = descend(net, start, steps=30, lr=0.05)
    assert end.min() >= 0 and end.max() <= 1
    assert (scores_of(net, end, 64) < scores_of(net, start, 64)).all()


def is_png(path):
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "command, extra, output",
    [
        ("reconstructions", ["--n-normal", "3", "--n-anomalous", "3", "--anomalous-class", "1"], "figure1_reconstructions.png"),
        ("occlusion", ["--n-images", "2"], "figure6_occlusion.png"),
        ("minima", ["--starts", "3", "--descent-steps", "5"], "figure7_local_minima.png"),
    ],
)
def test_figure_commands_write_a_png(runs, fake_root, tmp_path, command, extra, output):
    ckpts = [str(runs["a"]), str(runs["b"] / "checkpoints" / "last.ckpt")]
    args = [command, *ckpts, "--names", "one", "two", "--data-root", str(fake_root), "--out", str(tmp_path), *extra]
    assert analyze(args) == 0
    assert is_png(tmp_path / output)


def test_fpr_figure_from_results_files_logged_to_wandb(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "60")
    assert analyze(["fpr", str(runs["a"].parent), "--out", str(tmp_path), "--wandb"]) == 0
    assert is_png(tmp_path / "figure5_fpr.png")
    assert "ARAE,8," in (tmp_path / "figure5_fpr.csv").read_text()
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    assert list(run.glob("*.wandb"))  # the offline run's log, to be synced later


def test_robustness_command_reports_auroc_before_and_after(runs, fake_root, tmp_path):
    args = ["robustness", str(runs["a"]), "--data-root", str(fake_root), "--out", str(tmp_path), "--steps", "5"]
    assert analyze(args) == 0
    report = json.loads((tmp_path / "robustness.json").read_text())
    (model,) = report["models"]
    rows = model["results"]
    assert list(rows) == ["clean", "eps=0.05", "eps=0.1"]
    assert rows["clean"]["normal_score"] < rows["eps=0.05"]["normal_score"] < rows["eps=0.1"]["normal_score"]
    # the rebuilt clean test split is training's: the same AUROC as its final test; attacked normals lower it
    trained = json.loads((runs["a"] / "results.json").read_text())["test"]["auroc"]
    assert rows["clean"]["auroc"] == pytest.approx(trained, abs=1e-6)
    assert rows["eps=0.1"]["auroc"] < rows["clean"]["auroc"]


def test_analysis_refuses_models_of_different_classes(net):
    from arae.analysis.data import same_split
    from arae.detector import Detector
    from arae.errors import DataError

    meta = {"dataset": "mnist", "normal_classes": [8], "image_shape": [1, 8, 8]}
    same_split([Detector(net, 1.0, meta), Detector(net, 2.0, dict(meta))])
    with pytest.raises(DataError, match="different data/normal classes"):
        same_split([Detector(net, 1.0, meta), Detector(net, 1.0, {**meta, "normal_classes": [3]})])


def test_figure1_takes_its_anomalous_inputs_from_one_class():
    from arae.analysis.reconstructions import pick_examples
    from arae.errors import DataError

    classes = torch.arange(60) % 10
    labels = (classes != 8).long()
    chosen = pick_examples(labels, 2, 4, classes, anomalous_class=1)
    assert classes[chosen].tolist() == [8, 8, 1, 1, 1, 1]
    assert set(classes[pick_examples(labels, 0, 6)].tolist()) != {1}  # without it: any anomalous class
    with pytest.raises(DataError, match="no anomalous image of class 8"):
        pick_examples(labels, 2, 4, classes, anomalous_class=8)


def test_all_draws_each_figure_with_the_papers_models():
    from pathlib import Path

    from arae.analysis.cli import paper_models
    from arae.analysis.minima import PAPER_MODELS as FIGURE7
    from arae.analysis.reconstructions import PAPER_MODELS as FIGURE1

    found = {Path("arae.ckpt"): "ARAE", Path("union.ckpt"): "ARAE-A", Path("dae.ckpt"): "DAE"}
    assert paper_models(found, FIGURE1) == [Path("dae.ckpt"), Path("union.ckpt")]
    assert paper_models(found, FIGURE7) == [Path("dae.ckpt"), Path("arae.ckpt")]
    assert paper_models({Path("dae.ckpt"): "DAE"}, FIGURE1) == [Path("dae.ckpt")]  # missing: every model
    assert paper_models(found, None) == list(found)


def test_test_split_keeps_each_images_class(runs, fake_root):
    from arae.analysis.data import test_split
    from arae.detector import load_detector

    split = test_split(load_detector(runs["a"]), str(fake_root))
    assert torch.equal(split.labels, (split.classes != 8).long())


def test_source_moves_to_the_new_data_root_and_downloads_only_where_known():
    from arae.analysis.data import source_config

    coil = {"data_root": "/old", "dataset": {"source": {"name": "coil100", "path": "/old/coil-100", "image_size": 32}}}
    assert source_config(coil, "/new") == {"name": "coil100", "path": "/new/coil-100", "image_size": 32}
    own = {"data_root": "/old", "dataset": {"source": {"name": "folder", "path": "/mine/images"}}}
    assert source_config(own, "/new")["path"] == "/mine/images"
    mnist = {"data_root": "/old", "dataset": {"source": {"name": "mnist", "root": "/old", "download": True}}}
    assert source_config(mnist, "/new") == {"name": "mnist", "root": "/new", "download": False}
    assert source_config(coil, None)["path"] == "/old/coil-100"
    jpg = {"data_root": "/old", "dataset": {"source": {"name": "folder", "root": None, "download": None, "path": "/old/jpg"}}}
    assert source_config(jpg, "/new") == {"name": "folder", "root": None, "download": None, "path": "/new/jpg"}


def test_options_default_to_the_analysis_settings_of_conf():
    from omegaconf import OmegaConf

    from arae.analysis.cli import parser
    from arae.analysis.settings import analysis_folder, load_settings

    settings = OmegaConf.load(analysis_folder() / "default.yaml")
    args = parser().parse_args(["all", "runs"])
    assert args.eps == list(settings.robustness.eps) and args.steps == settings.robustness.steps
    assert args.objective == settings.robustness.objective and args.seed == settings.seed
    assert (args.patch, args.n_images, args.noise) == tuple(settings.occlusion.values())
    assert (args.starts, args.descent_steps, args.lr) == tuple(settings.minima.values())
    assert (args.n_normal, args.n_anomalous, args.anomalous_class) == tuple(settings.reconstructions.values())
    assert args.normal_class == settings.all.normal_class
    assert parser(load_settings()).parse_args(["robustness", "a.ckpt", "--steps", "3"]).steps == 3  # an option wins


def test_analysis_settings_of_ones_own(tmp_path):
    from omegaconf import OmegaConf

    from arae.analysis.cli import parser, settings_of
    from arae.analysis.settings import analysis_folder
    from arae.errors import ConfigError

    settings = OmegaConf.load(analysis_folder() / "default.yaml")
    settings.robustness.steps = 7
    OmegaConf.save(settings, tmp_path / "mine.yaml")
    argv = ["robustness", "a.ckpt", "--config", str(tmp_path / "mine.yaml")]
    assert parser(settings_of(argv)).parse_args(argv).steps == 7
    with pytest.raises(ConfigError, match="default"):
        settings_of(["robustness", "a.ckpt", "--config", "nonesuch"])


@pytest.mark.slow
def test_analyze_works_on_the_file_based_data_sets(image_root, tmp_path):
    """COIL-100, an image folder, Head CT and Brain MRI: trained on one copy of the files, analysed on
    another (the training copy is gone), as when checkpoints move to another machine."""
    import shutil

    from conftest import TINY, run_train

    first = tmp_path / "first_copy"
    for folder in ("coil-100", "cifar10-jpg", "head_ct", "brain_mri"):
        shutil.copytree(image_root / folder, first / folder)
    train = [o for o in TINY if not o.startswith("callbacks.checkpoint")]
    proc = run_train(
        ["-m", *train, "trainer.max_epochs=1", "attack.adversary.steps=1", "dataset=coil100,cifar10_jpg,head_ct,brain_mri",
         "++dataset.source.image_size=16", "normal_class=1", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        first, tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(first)
    runs = sorted(p.parent.parent for p in (tmp_path / "sweep").rglob("last.ckpt"))
    assert len(runs) == 4
    for run in runs:
        out = tmp_path / "figures" / run.name
        common = ["--data-root", str(image_root), "--out", str(out)]
        assert analyze(["robustness", str(run), "--eps", "0.05", "--steps", "1", *common]) == 0, run.name
        assert analyze(["reconstructions", str(run), "--n-normal", "2", "--n-anomalous", "2", *common]) == 0, run.name
        assert is_png(out / "figure1_reconstructions.png")
        report = json.loads((out / "robustness.json").read_text())
        trained = json.loads((run / "results.json").read_text())["test"]["auroc"]  # the moved copy: the same split
        assert report["models"][0]["results"]["clean"]["auroc"] == pytest.approx(trained, abs=1e-6), run.name


@pytest.mark.slow
def test_make_figures_end_to_end(fake_root, tmp_path):
    """`make figures` at one epoch on fake MNIST: DAE, ARAE and ARAE-A, then every table and figure."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "ARAE_DATA_DIR": str(fake_root), "WANDB_MODE": "disabled"}
    make = ["make", "-s", "-C", str(REPO), "figures", f"PY={sys.executable}", "STAMP=", f"FIGURES_DIR={tmp_path}",
            "FIGURES_EPOCHS=1", "FIGURES_CLASSES=8", "ARGS=dataset.batch_size=64 num_threads=1",
            "FIGURES_ANALYZE_ARGS=--steps 2 --descent-steps 5 --starts 2 --n-images 1"]
    proc = subprocess.run(make, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    models = json.loads((run / "robustness.json").read_text())["models"]
    assert sorted(m["name"] for m in models) == ["ARAE", "ARAE-A", "DAE"]
    for name in ("figure1_reconstructions", "figure5_fpr", "figure6_occlusion", "figure7_local_minima"):
        assert is_png(run / f"{name}.png"), name
    assert "not all of" not in proc.stdout  # every figure found the paper's models
