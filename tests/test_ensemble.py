"""hydra/launcher=ensemble: the jobs of a sweep train as stacked members of one process, and each member
writes what its separate job writes, with the same numbers.

The comparison runs for every attack config on data where it can fail (tests/fakedata.faint_class_images:
the AUROC lies inside (0, 1) and moves between epochs) and compares the per-epoch AUROC, the detector's
threshold, the test metrics, the logged rows and the weights after training. Its members differ in size
(normal classes 1 and [1, 2]: 3 and 5 batches), so the smaller one pads its batches and sits out the last
steps of each epoch. `test_the_comparison_fails_for_a_one_percent_change` shows that it can fail."""

import csv
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import CHEAP_ATTACK, FAINT, REPO, mlp, rng, run_train

from arae.ensemble.adam import StackedAdam
from arae.ensemble.checkpoint import ensemble_checkpoint, member_checkpoint
from arae.ensemble.stacked import Members, MemberStreams, StackedNets, interleave

ATTACKS = sorted(p.stem for p in (REPO / "conf" / "attack").glob("*.yaml"))
# Both schedules; epoch crafting in chunks that cut the members' sets unevenly (the random draws split).
EPOCH = ["crafting=epoch", "crafting.chunk_size=24"]
CRAFTING = {"none": ["crafting=batch", "eval_every_n_epochs=2", "last_k=1"],  # also the evaluation cadence
            "noise": ["crafting=batch"], "linf_fast": ["crafting=batch"], "union": ["crafting=batch"],
            "union_script": ["crafting=batch"], "linf": EPOCH, "l2": EPOCH, "spatial": EPOCH, "union_concat": EPOCH,
            "linf_rec": [*EPOCH, "+trainer.limit_train_batches=2"]}  # epochs cut short: crafted per batch
SMALL = ["model.hidden_dims=[64,16]", "logger=csv"]
CLASSES = ("1", "[1,2]")  # the members


def job_config(faint_root, folder: Path, attack: str, normal_class: str, extra=()):
    """The resolved config of one job in `folder`, as train.py would compose it."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf, open_dict

    from arae.config import register_resolvers

    register_resolvers()
    overrides = [*FAINT, *SMALL, f"data_root={faint_root}", f"attack={attack}", *CHEAP_ATTACK[attack], *CRAFTING[attack],
                 f"normal_class={normal_class}", "seed=0", *extra]
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):  # what Hydra's job folder would give
        cfg.logger.csv.save_dir = str(folder)
        cfg.callbacks.checkpoint.dirpath = str(folder / "checkpoints")
    OmegaConf.resolve(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    return cfg


def train_separately(faint_root, root: Path, attack: str) -> Path:
    from arae.task import run_job

    for c in CLASSES:
        run_job(job_config(faint_root, root / c, attack, c), root / c)
    return root


def train_together(faint_root, root: Path, attack: str, extra=()) -> Path:
    from arae.ensemble.member import Member
    from arae.ensemble.run import train_members
    from arae.training.interruption import StopRequest

    members = [Member(job_config(faint_root, root / c, attack, c, extra), root / c, None) for c in CLASSES]
    for member in members:
        member.build()
    log, level = logging.getLogger("arae"), logging.getLogger("arae").level
    log.setLevel(logging.INFO)  # as Hydra's job logging sets it: the members' epoch lines
    try:
        assert all(train_members(members, StopRequest()))
    finally:
        log.setLevel(level)
    return root


_SWEEPS: dict[str, tuple[Path, Path]] = {}


@pytest.fixture(scope="module")
def sweeps(faint_root, tmp_path_factory):
    """(separate jobs, ensemble) folders of an attack's two jobs, trained once per test module."""

    def get(attack: str) -> tuple[Path, Path]:
        if attack not in _SWEEPS:
            root = tmp_path_factory.mktemp(attack)
            _SWEEPS[attack] = (train_separately(faint_root, root / "separate", attack),
                               train_together(faint_root, root / "together", attack))
        return _SWEEPS[attack]

    return get


def run_sweep(data_root, cwd: Path, name: str, args: list[str]) -> Path:
    proc = run_train(["-m", *args, f"hydra.sweep.dir={name}"], data_root, cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return cwd / name


def jobs(root: Path) -> dict[Path, Path]:
    return {p.parent.relative_to(root): p.parent for p in root.rglob("results.json")}


def metrics_rows(folder: Path) -> list[dict]:
    with open(folder / "csv" / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]


# Discrete choices in the attacks (the sign of a PGD step, the best spatial transform or union member)
# amplify float rounding (a batched matmul sums in another order than a single one): members' weights
# differ from their separate jobs' by up to ~4e-4 relative here, as much as a separate job's own when its
# initial weights move by 1e-7. A 1 % change of the learning rate moves them by ~1.5e-2.
WEIGHTS_REL = 2e-3


def differences(separate: Path, together: Path, rows: bool = True) -> list[str]:
    """What differs between each member and its separate job: [] when the members equal them. The
    bookkeeping must match exactly; the numbers within float rounding. (`rows=False`: the logged rows are
    not compared; a resumed run's CSV logger starts a new file.)"""
    alone, members = jobs(separate), jobs(together)
    assert set(members) == set(alone) and len(members) >= 2
    found = []
    for folder, one_dir in alone.items():
        one = json.loads((one_dir / "results.json").read_text())
        member = json.loads((members[folder] / "results.json").read_text())
        assert member["status"] == "completed" and set(member) == set(one)
        for key in ("epochs", "steps", "val_auroc_epochs", "n_train", "normal_classes", "seed", "run_name"):
            assert member[key] == one[key], key
        if rows:
            mine, theirs = metrics_rows(members[folder]), metrics_rows(one_dir)
            assert [(r["epoch"], r["step"]) for r in mine] == [(r["epoch"], r["step"]) for r in theirs]
            assert [{k for k, v in r.items() if v} for r in mine] == [{k for k, v in r.items() if v} for r in theirs]
        if member["val_auroc_history"] != pytest.approx(one["val_auroc_history"], abs=1e-6):
            found.append(f"{folder.name}: val_auroc_history")
        if member["test"] != pytest.approx(one["test"], abs=1e-6):
            found.append(f"{folder.name}: test")
        if member["detector"]["threshold"] != pytest.approx(one["detector"]["threshold"], rel=1e-5):
            found.append(f"{folder.name}: threshold")
        mine, theirs = weights(members[folder]), weights(one_dir)
        assert mine.keys() == theirs.keys()
        if any((mine[k] - v).norm() > WEIGHTS_REL * v.norm() for k, v in theirs.items()):
            found.append(f"{folder.name}: weights")
    return found


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_member_is_its_separate_job(sweeps, attack):
    separate, together = sweeps(attack)
    assert differences(separate, together) == []
    histories = [json.loads(p.read_text())["val_auroc_history"] for p in separate.rglob("results.json")]
    assert all(0.05 < a < 0.95 for h in histories for a in h)  # a comparison that can fail
    if attack == "none":  # the cadence: epoch 2 evaluated only, the checkpoint after the last epoch
        for folder in jobs(together).values():
            assert json.loads((folder / "results.json").read_text())["val_auroc_epochs"] == [2]
            assert torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1


def test_the_comparison_fails_for_a_one_percent_change(sweeps, faint_root, tmp_path, monkeypatch):
    """The ensemble's Adam stepping with lr x 1.01: each comparison must see it on its own."""
    separate, _ = sweeps("linf")
    original = StackedAdam.__init__

    def perturbed(self, params, members, lr, **options):
        original(self, params, members, lr * 1.01, **options)

    monkeypatch.setattr(StackedAdam, "__init__", perturbed)
    found = {d.split(": ")[1] for d in differences(separate, train_together(faint_root, tmp_path, "linf"))}
    assert {"val_auroc_history", "threshold", "weights"} <= found


def test_member_checkpoints_are_detectors_and_modules(sweeps):
    from arae.detector import load_detector
    from arae.training import ARAEModule

    _, together = sweeps("linf")
    folder = next(iter(jobs(together).values()))
    detector = load_detector(folder)
    scores = detector.score(torch.rand(3, *detector.image_shape))
    assert scores.shape == (3,) and torch.isfinite(scores).all()
    module = ARAEModule.load_from_checkpoint(folder / "checkpoints" / "last.ckpt")
    assert all(torch.equal(a, b) for a, b in zip(module.net.state_dict().values(), weights(folder).values()))
    lines = (folder / "train.log").read_text()  # run through train_members, as the launcher runs it
    assert "epoch 1/2" in lines and "epoch 2/2" in lines  # its own lines in its own log file


def test_through_the_launcher_each_member_logs_into_its_own_wandb_run_and_a_rerun_skips_them(faint_root, tmp_path):
    args = ["-m", *FAINT, *SMALL, "attack=none", "crafting=batch", "normal_class=choice(1,[1,2])", "seed=0",
            "logger=wandb", "callbacks.wandb_media.every_n_epochs=1", "callbacks.wandb_media.per_class=2",
            "hydra/launcher=ensemble", "hydra.sweep.dir=together"]
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    proc = run_train(args, faint_root, tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = []
    for folder in jobs(tmp_path / "together").values():
        (run,) = (folder / "wandb").glob("offline-run-*")
        data = next(run.glob("*.wandb")).read_bytes()
        assert b"val/auroc" in data and b"train/loss" in data and b"test/auroc" in data and b"m0/" not in data
        assert list((run / "files" / "media" / "images").rglob("reconstructions_normal*.png"))
        assert len(metrics_rows(folder)) == 4  # two epochs, the test, the final last-K summary
        runs.append(run.name)
    assert len(set(runs)) == 2
    again = run_train([*args, "skip_completed=true"], faint_root, tmp_path, env=env)
    assert again.returncode == 0 and again.stdout.count("skipped") == 2, again.stdout[-2000:]


def test_unsupported_settings_are_refused_with_the_fix(faint_root, tmp_path):
    from arae.errors import ConfigError

    refusals = {
        "+trainer.overfit_batches=1": "trainer.overfit_batches is not supported",
        "+trainer.limit_train_batches=4": "cuts some members' epochs (3 to 5 batches) but not others'",
        "+callbacks.budget._target_=arae.training.TrainingBudget": "callbacks.budget (TrainingBudget) is not supported",
        "attack.leak_weight=1.0": "attack.leak_weight and attack.block_gamma are not supported",
    }
    for i, (override, message) in enumerate(refusals.items()):
        extra = [override, *(["+callbacks.budget.seconds=60"] if "budget" in override else [])]
        attack = "union_script" if "leak" in override else "none"
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            train_together(faint_root, tmp_path / str(i), attack, extra)
    # through the launcher: one message, no traceback
    args = ["-m", *FAINT, *SMALL, "attack=none", "normal_class=choice(1,[1,2])", "+trainer.limit_train_batches=0.5",
            "hydra/launcher=ensemble", "hydra.sweep.dir=x"]
    proc = run_train(args, faint_root, tmp_path)
    assert proc.returncode != 0 and "not a fraction" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    folders = re.findall(r"the job in (\S+) stopped", proc.stderr + proc.stdout)
    assert folders and all((Path(f) / "results.json").is_file() for f in folders), folders  # each job's own folder


@pytest.mark.slow
def test_sigterm_saves_members_and_a_rerun_continues_them(faint_root, tmp_path):
    """Interrupted after a few epochs, then continued from the members' checkpoints: the same members as an
    uninterrupted ensemble's, to the weights."""
    args = [*FAINT, *SMALL, "trainer.max_epochs=12", "attack=noise", "crafting=batch", "normal_class=choice(1,[1,2])",
            "seed=0,1", "hydra/launcher=ensemble", "callbacks.checkpoint.every_n_epochs=1", "skip_completed=true"]
    reference = run_sweep(faint_root, tmp_path, "reference", args)
    env = {"ARAE_DATA_DIR": str(faint_root), "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    import time

    proc = subprocess.Popen([sys.executable, str(REPO / "train.py"), "-m", *args, "hydra.sweep.dir=run"], cwd=tmp_path,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        done = [c for c in (tmp_path / "run").rglob("last.ckpt")]
        if len(done) == 4 and all(torch.load(c, weights_only=True)["epoch"] >= 2 for c in done):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    statuses = {json.loads(p.read_text())["status"] for p in (tmp_path / "run").rglob("results.json")}
    assert statuses == {"interrupted"}

    again = run_train(["-m", *args, "hydra.sweep.dir=run"], faint_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    for folder in jobs(reference):
        resumed = json.loads((tmp_path / "run" / folder / "results.json").read_text())
        assert resumed["status"] == "completed" and 2 < resumed["resumed_from_epoch"] < 12
    assert differences(reference, tmp_path / "run", rows=False) == []


# -- the pieces -------------------------------------------------------------------------------------------


def test_stacked_nets_compute_each_members_net():
    torch.manual_seed(0)
    nets = [mlp((1, 8, 8), hidden_dims=(16, 4)) for _ in range(3)]
    stacked = StackedNets(nets)
    x = torch.rand(2 * 5 * 3, 1, 8, 8)  # 2 copies x 5 rows x 3 members, interleaved
    rows = x.view(2, 5, 3, 1, 8, 8)
    expected = torch.stack([torch.stack([nets[i](rows[c, :, i]) for i in range(3)], 1) for c in range(2)])
    assert torch.allclose(stacked(x).view_as(expected), expected, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(stacked.member_net(1).state_dict().values(), nets[1].state_dict().values()))
    with pytest.raises(ValueError, match="does not interleave"):
        stacked(x[:7])


def test_stacked_adam_is_torch_adam_per_member_and_skips_inactive_members():
    """Bit for bit torch.optim.Adam's (its single-tensor update, the CPU's default)."""
    torch.manual_seed(0)
    params = [torch.randn(3, 4, 5), torch.randn(3, 5)]
    separate = [[p[i].clone().requires_grad_() for p in params] for i in range(3)]
    optimisers = [torch.optim.Adam(s, lr=1e-3) for s in separate]
    stacked = [p.clone() for p in params]
    adam = StackedAdam(stacked, 3, lr=1e-3)
    for step in range(6):
        grads = [torch.randn_like(p) for p in params]
        active = [True, step % 2 == 0, step < 2]
        for p, g in zip(stacked, grads):
            p.grad = g.clone()
        adam.step(active=active)
        for i in range(3):
            if active[i]:
                for s, g in zip(separate[i], grads):
                    s.grad = g[i].clone()
                optimisers[i].step()
    for i in range(3):
        for p, s in zip(stacked, separate[i]):
            assert torch.equal(p[i], s)  # bit for bit


def test_member_streams_draw_what_each_separate_run_draws():
    def start(rows, generator):
        return torch.empty_like(rows).uniform_(-1, 1, generator=generator)

    alone = [rng(seed).draw(torch.zeros(3, 2), start) for seed in (5, 6)]
    streams = MemberStreams([rng(5).generator, rng(6).generator], rows=[3, 0], block=4)
    drawn = streams.draw(torch.zeros(4 * 2, 2), start).view(4, 2, 2)  # 4 rows x 2 members, of which 3 and 0 are real
    assert torch.equal(drawn[:3, 0], alone[0]) and (drawn[3:, 0] == 0).all() and (drawn[:, 1] == 0).all()
    chunks = list(MemberStreams([rng(5).generator, rng(6).generator], rows=[3, 1], block=3).split(torch.zeros(6, 2), 2))
    assert [(len(x), s.rows, s.block) for x, s in chunks] == [(4, (2, 1), 2), (2, (1, 0), 1)]


def test_members_mean_each_members_real_rows():
    runs = Members([2, 3, 0], torch.device("cpu"))
    values = interleave([torch.tensor([1.0, 3.0]), torch.tensor([2.0, 4.0, 6.0]), torch.zeros(0)], 3, fill=100.0)
    assert torch.equal(runs.mean(values), torch.tensor([2.0, 4.0, 0.0]))
    assert torch.equal(runs.mean(torch.cat([values, values + 1])), torch.tensor([2.5, 4.5, 0.0]))  # two copies
    assert runs.active == [True, True, False]


def test_member_checkpoints_join_back_into_the_ensembles():
    from arae.ensemble.checkpoint import MEMBERS
    from arae.resume import ENSEMBLE_KEY

    ensemble = {"epoch": 3, "loops": {"x": 1}, "optimizer_states": [{MEMBERS: [{"m": 0}, {"m": 1}]}],
                "callbacks": {"a": {MEMBERS: [[1], [2]]}, "b": {"seconds": [1.0]}},
                MEMBERS: [{"state_dict": {"net.w": torch.zeros(1)}, ENSEMBLE_KEY: {"format": 2}},
                          {"state_dict": {"net.w": torch.ones(1)}, ENSEMBLE_KEY: {"format": 2}}]}
    files = [member_checkpoint(ensemble, i) for i in range(2)]
    assert files[1]["state_dict"]["net.w"] == 1 and files[1]["optimizer_states"] == [{MEMBERS: [{"m": 1}]}]
    joined = ensemble_checkpoint(files)
    assert joined["optimizer_states"] == ensemble["optimizer_states"] and joined["callbacks"] == ensemble["callbacks"]
    assert [m["state_dict"]["net.w"].item() for m in joined[MEMBERS]] == [0, 1] and joined["loops"] == {"x": 1}


def test_the_attack_example_in_the_docs_draws_per_member():
    """docs/extending.md's SaltAndPepper, run on two stacked members, draws what each would draw alone."""
    text = (REPO / "docs" / "extending.md").read_text()
    code = next(block for block in text.split("```python")[1:] if "class SaltAndPepper" in block).split("```")[0]
    namespace: dict = {}
    exec(code, namespace)
    attack = namespace["SaltAndPepper"](0.3)
    x = [torch.rand(4, 1, 3, 3), torch.rand(2, 1, 3, 3)]
    alone = [attack(None, xi, rng(seed)) for xi, seed in zip(x, (1, 2))]
    stacked = attack(None, interleave(x, 4), MemberStreams([rng(1).generator, rng(2).generator], [4, 2], 4))
    assert torch.equal(stacked.view(4, 2, 1, 3, 3)[:, 0], alone[0]) and torch.equal(stacked.view(4, 2, 1, 3, 3)[:2, 1], alone[1])


def test_stacked_weights_are_stored_as_their_gradients_arrive():
    """Autograd hands each stacked parameter its gradient without copying it into another layout, and a
    member's weights still come out as an ordinary (contiguous) state dict."""
    nets = [mlp((1, 8, 8), hidden_dims=(16, 8)) for _ in range(3)]
    stacked = StackedNets(nets)
    arriving = {}
    for name, p in zip(stacked.names, stacked.stacked):
        p.register_hook(lambda g, name=name: arriving.__setitem__(name, g.stride()))
    stacked(torch.rand(3 * 4, *stacked.image_shape)).sum().backward()
    assert arriving == {name: p.stride() for name, p in zip(stacked.names, stacked.stacked)}
    state = stacked.member_state(1)
    assert all(t.is_contiguous() for t in state.values())
    assert all(torch.equal(state[k], v) for k, v in nets[1].state_dict().items())
