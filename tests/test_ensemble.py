"""hydra/launcher=ensemble: the jobs of a sweep train as stacked members of one process, and each member
writes what its separate job writes, with the same numbers (float32 on the CPU: equal to 1e-5)."""

import csv
import json
import signal
import subprocess
import sys

import pytest
import torch
from conftest import REPO, TINY, mlp, run_train

from arae.attacks.randomness import MemberStreams, member_streams, sample
from arae.ensemble.adam import StackedAdam
from arae.ensemble.stacked import StackedNets

# Members of different sizes: normal classes [1, 2] (80 training images) and 3 (40), so the smaller
# member pads its batches and sits out the last step of each epoch.
SWEEP = [
    *(o for o in TINY if not o.startswith(("trainer.max_epochs", "logger", "callbacks.checkpoint"))),
    "trainer.max_epochs=3", "eval_every_n_epochs=1", "num_threads=1", "logger=csv",
    "normal_class=choice([1,2],3)", "seed=0,1",
]
SERIES = {"arae-per-epoch": ["crafting=epoch"], "arae-per-batch": ["crafting=batch"],
          "dae": ["variant=dae", "crafting=batch"], "arae-r": ["variant=arae_r", "crafting=batch"],
          "arae-a": ["variant=arae_a", "crafting=epoch", "attack.adversary.members.linf.steps=2",
                     "attack.adversary.members.l2.steps=2", "attack.adversary.members.spatial.angle_step=15"]}


def sweep(tmp_path, fake_root, name, extra):
    own_attack = any(e in extra for e in ("variant=dae", "variant=arae_a"))
    base = [o for o in SWEEP if not (own_attack and o.startswith("attack.adversary.steps"))]
    proc = run_train(["-m", *base, *extra, f"hydra.sweep.dir={name}"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.parent.relative_to(tmp_path / name): json.loads(p.read_text())
            for p in (tmp_path / name).rglob("results.json")}


FINAL = "final/auroc_last_k_mean"  # the row logged after the test: the run's last epoch, as the test row


def epoch(row) -> int:
    return int(float(row["epoch"]))


def metrics_rows(folder):
    with open(next(folder.rglob("metrics.csv")), newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("series", [pytest.param(s, marks=() if s == "arae-per-batch" else pytest.mark.slow)
                                    for s in SERIES])
def test_each_member_is_its_separate_job(fake_root, tmp_path, series):
    separate = sweep(tmp_path, fake_root, "separate", SERIES[series])
    together = sweep(tmp_path, fake_root, "together", [*SERIES[series], "hydra/launcher=ensemble"])
    assert set(together) == set(separate) and len(together) == 4  # same folders
    for folder, one in separate.items():
        member = together[folder]
        assert member["status"] == "completed" and set(member) == set(one)
        for key in ("epochs", "steps", "val_auroc_epochs", "n_train", "normal_classes", "seed", "run_name"):
            assert member[key] == one[key], key
        assert member["val_auroc_history"] == pytest.approx(one["val_auroc_history"], abs=1e-5)
        assert set(member["test"]) == set(one["test"])
        for key, value in one["test"].items():
            assert member["test"][key] == pytest.approx(value, abs=1e-5), key
        assert member["detector"]["threshold"] == pytest.approx(one["detector"]["threshold"], rel=1e-4)
        rows, rows_one = metrics_rows(tmp_path / "together" / folder), metrics_rows(tmp_path / "separate" / folder)
        assert [r["step"] for r in rows] == [r["step"] for r in rows_one]
        # Separate jobs count epochs 1…N (tests/test_epochs.py). The ensemble engine (arae/ensemble/engine.py,
        # to train on the Lightning path, issue 25) still writes the 0-based index on its epoch rows: once it
        # counts as separate jobs do, this becomes `[epoch(r) for r in rows] == [epoch(r) for r in rows_one]`.
        assert [epoch(r) for r in rows_one] == [epoch(r) + (0 if r.get("test/auroc") or r.get(FINAL) else 1) for r in rows]
        assert rows[0].keys() == rows_one[0].keys()


def test_member_checkpoints_are_detectors(fake_root, tmp_path):
    from arae.detector import load_detector

    together = sweep(tmp_path, fake_root, "together", ["crafting=batch", "hydra/launcher=ensemble"])
    folder = tmp_path / "together" / next(iter(together))
    detector = load_detector(folder)
    scores = detector.score(torch.rand(3, *detector.image_shape))
    assert scores.shape == (3,) and torch.isfinite(scores).all()


def test_a_rerun_skips_completed_members(fake_root, tmp_path):
    sweep(tmp_path, fake_root, "together", ["crafting=batch", "hydra/launcher=ensemble"])
    proc = run_train(["-m", *SWEEP, "crafting=batch", "hydra/launcher=ensemble", "hydra.sweep.dir=together"],
                     fake_root, tmp_path)
    assert proc.returncode == 0 and proc.stdout.count("skipped") == 4, proc.stdout[-2000:]


@pytest.mark.slow
def test_sigterm_saves_members_and_a_rerun_continues_them(fake_root, tmp_path):
    args = ["-m", *(a for a in SWEEP if not a.startswith("trainer.max_epochs")), "trainer.max_epochs=12",
            "crafting=batch", "hydra/launcher=ensemble", "callbacks.checkpoint.every_n_epochs=1"]
    reference = sweep(tmp_path, fake_root, "reference", args[1:])
    env = {"ARAE_DATA_DIR": str(fake_root), "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    import os
    import time

    proc = subprocess.Popen([sys.executable, str(REPO / "train.py"), *args, "hydra.sweep.dir=run"], cwd=tmp_path,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        done = [c for c in (tmp_path / "run").rglob("last.ckpt")]
        if len(done) == 4 and all(torch.load(c, weights_only=True)["epoch"] >= 2 for c in done):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    statuses = {json.loads(p.read_text())["status"] for p in (tmp_path / "run").rglob("results.json")}
    assert statuses == {"interrupted"}

    again = run_train([*args, "hydra.sweep.dir=run"], fake_root, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    for folder, one in reference.items():
        resumed = json.loads((tmp_path / "run" / folder / "results.json").read_text())
        assert resumed["status"] == "completed" and 2 < resumed["resumed_from_epoch"] < 12
        assert resumed["val_auroc_history"] == pytest.approx(one["val_auroc_history"], abs=1e-6)
        assert resumed["steps"] == one["steps"]


def test_unsupported_settings_are_refused_with_the_fix(fake_root, tmp_path):
    proc = run_train(["-m", *SWEEP, "+trainer.limit_train_batches=1", "hydra/launcher=ensemble",
                      "hydra.sweep.dir=x"], fake_root, tmp_path)
    assert proc.returncode != 0
    assert "limit_train_batches is not supported by the ensemble trainer" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


# -- the pieces -------------------------------------------------------------------------------------------


def test_stacked_nets_compute_each_members_net():
    torch.manual_seed(0)
    nets = [mlp((1, 8, 8), hidden_dims=(16, 4)) for _ in range(3)]
    stacked = StackedNets(nets)
    stacked.block = 5
    x = torch.rand(2 * 3 * 5, 1, 8, 8)  # 2 copies x 3 members x 5 rows
    blocks = x.view(2, 3, 5, 1, 8, 8)
    expected = torch.stack([torch.stack([nets[i](blocks[c, i]) for i in range(3)]) for c in range(2)])
    assert torch.allclose(stacked(x).view_as(expected), expected, atol=1e-6)
    with pytest.raises(ValueError, match="not whole blocks"):
        stacked(x[:7])


def test_stacked_adam_is_torch_adam_per_member_and_skips_inactive_members():
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
        adam.step(active)
        for i in range(3):
            if active[i]:
                for s, g in zip(separate[i], grads):
                    s.grad = g[i].clone()
                optimisers[i].step()
    for i in range(3):
        for p, s in zip(stacked, separate[i]):
            assert torch.allclose(p[i], s, atol=1e-8, rtol=0)


def test_member_streams_draw_what_each_separate_run_draws():
    def start(rows):
        return torch.empty_like(rows).uniform_(-1, 1)

    states = []
    alone = []
    for seed in (5, 6):
        torch.manual_seed(seed)
        states.append(MemberStreams.capture())
        alone.append(start(torch.zeros(3, 2)))
    streams = MemberStreams(states)
    x = torch.zeros(2 * 4, 2)  # 2 members x 4 rows, of which 3 and 0 are real
    with member_streams(streams, 4, [3, 0]):
        drawn = sample(x, start).view(2, 4, 2)
    assert torch.equal(drawn[0, :3], alone[0]) and (drawn[0, 3:] == 0).all() and (drawn[1] == 0).all()


def test_members_keep_the_evaluation_and_checkpoint_cadence(fake_root, tmp_path):
    together = sweep(tmp_path, fake_root, "together", ["crafting=batch", "hydra/launcher=ensemble", "trainer.max_epochs=5",
                                                       "last_k=2", "eval_every_n_epochs=2"])
    for folder, member in together.items():
        assert member["val_auroc_epochs"] == [2, 4, 5] and member["auroc_last_k"]["k"] == 2
        checkpoint = torch.load(tmp_path / "together" / folder / "checkpoints" / "last.ckpt", weights_only=True)
        assert checkpoint["epoch"] == 4  # after the last epoch (index 4), whatever the cadence
