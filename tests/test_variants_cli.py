"""Every attack config and every variant alias through train.py on tiny fake data."""

import json

from conftest import TINY, run_train

BASE = [arg for arg in TINY if not arg.startswith("attack.")] + ["trainer.max_epochs=1", "normal_class=2"]
# `++`: a sweep first composes the default attack (linf), which has no members.
FAST_MEMBERS = [
    "++attack.adversary.members.linf.steps=2",
    "++attack.adversary.members.l2.steps=2",
    "++attack.adversary.members.spatial.angle_step=15",
]


def completed(cwd) -> dict[str, dict]:
    results = [json.loads(p.read_text()) for p in sorted(cwd.rglob("results.json"))]
    assert all(r["status"] == "completed" for r in results), [r.get("error") for r in results]
    assert all(0.0 <= r["test"]["auroc"] <= 1.0 and r["seconds_per_epoch"] > 0 for r in results)
    return {r["attack"]: r for r in results}


def test_every_attack_config_trains(fake_root, tmp_path):
    sweeps = [
        ["attack=none,noise"],
        ["attack=linf,l2,linf_rec", "attack.adversary.steps=2"],
        ["attack=spatial", "attack.adversary.angle_step=15"],
        ["attack=union,union_concat", *FAST_MEMBERS],
    ]
    for i, sweep in enumerate(sweeps):
        cwd = tmp_path / str(i)
        cwd.mkdir()
        proc = run_train(["-m", *BASE, *sweep], fake_root, cwd)
        assert proc.returncode == 0, proc.stderr[-3000:]
    results = completed(tmp_path)
    assert set(results) == {"none", "noise", "linf", "l2", "linf_rec", "spatial", "union", "union_concat"}
    assert results["union_concat"]["config"]["attack"]["gamma"] == 0.2
    assert results["union_concat"]["config"]["attack"]["adversary"]["mode"] == "concat"


def test_variant_alias_and_batch_crafting(fake_root, tmp_path):
    """The paper's name works on the command line; concat also trains when each batch is attacked."""
    args = [*BASE, "variant=arae_a", "attack.adversary.mode=concat", "crafting=batch", *FAST_MEMBERS]
    proc = run_train(args, fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = completed(tmp_path)["union"]
    assert run["config"]["attack"]["adversary"]["mode"] == "concat"
