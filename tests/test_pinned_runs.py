"""A separate job's numbers do not change by accident: the per-epoch AUROC, the detector's threshold and the
final weights of short runs (each attack family, both crafting schedules) are pinned to the values main's
code computed before issue 25's redesign (one training loop, randomness passed to the attacks).

Float32 on the CPU with one thread. Re-pin only for a change that is meant to change the numbers:
`ARAE_PIN=1 pytest tests/test_pinned_runs.py -s` prints the new PINNED entries."""

import json
import os

import pytest
import torch
from conftest import CHEAP_ATTACK, FAINT, run_train

RUNS = {
    "linf-epoch": ["attack=linf", "crafting=epoch"],
    "noise-batch": ["attack=noise", "crafting=batch"],
    "l2-batch": ["attack=l2", "crafting=batch"],
    "union_concat-epoch": ["attack=union_concat", "crafting=epoch"],
    "spatial-batch": ["attack=spatial", "crafting=batch"],
}

PINNED = {  # computed on main at be05656, before issue 25's redesign
    'linf-epoch': {
        "val_auroc_history": [0.868055522441864, 0.7561728954315186],
        "threshold": 32.553043365478516,
        "weights": {
            "net.decoder.0.bias": [4.410597632377176, 0.26173273686509185],
            "net.decoder.0.weight": [482.59824416591437, 201.1400842316662],
            "net.decoder.2.bias": [-18.36556981317699, 0.7850998608914622],
            "net.decoder.2.weight": [-4607.616001867362, 542.2759538533878],
            "net.decoder.4.bias": [-14.719641992123798, 0.3023712120925448],
            "net.decoder.4.weight": [-7435.437905216613, 791.1348085466379],
            "net.encoder.0.bias": [-1.2214297092868946, 0.39859358671610345],
            "net.encoder.0.weight": [-582.6069478480294, 794.8372347901964],
            "net.encoder.2.bias": [-0.6984564629383385, 0.24233077907018358],
            "net.encoder.2.weight": [-325.74397852943366, 452.13316978284126],
            "net.encoder.4.bias": [0.44447764904180076, 0.12669612399478047],
            "net.encoder.4.weight": [102.10106023910339, 196.33988930384066],
        },
    },
    'noise-batch': {
        "val_auroc_history": [0.868055522441864, 0.7561728954315186],
        "threshold": 32.56573486328125,
        "weights": {
            "net.decoder.0.bias": [4.412095143285114, 0.26151900970483766],
            "net.decoder.0.weight": [482.1863176120096, 201.10404582962497],
            "net.decoder.2.bias": [-18.368602555943653, 0.7853124948405932],
            "net.decoder.2.weight": [-4608.507902586905, 542.3255318416391],
            "net.decoder.4.bias": [-14.71827447891701, 0.30231308117591105],
            "net.decoder.4.weight": [-7434.440229778656, 791.1004637126364],
            "net.encoder.0.bias": [-1.5510658927378245, 0.39401645293712145],
            "net.encoder.0.weight": [-886.1208610180292, 822.3370732888134],
            "net.encoder.2.bias": [-0.898336770827882, 0.2494556584514535],
            "net.encoder.2.weight": [-409.5522377313391, 457.28601559199785],
            "net.encoder.4.bias": [0.4278070135624148, 0.127204734290473],
            "net.encoder.4.weight": [96.63221817488375, 197.1046274811685],
        },
    },
    'l2-batch': {
        "val_auroc_history": [0.868055522441864, 0.7561728954315186],
        "threshold": 32.564796447753906,
        "weights": {
            "net.decoder.0.bias": [4.412984458671417, 0.26151755279158834],
            "net.decoder.0.weight": [482.04223153462226, 201.10193011994878],
            "net.decoder.2.bias": [-18.368615571875125, 0.7853107897315081],
            "net.decoder.2.weight": [-4608.463176123791, 542.3242890125902],
            "net.decoder.4.bias": [-14.718281080829911, 0.3023129007105908],
            "net.decoder.4.weight": [-7434.431892483408, 791.0990329432026],
            "net.encoder.0.bias": [-1.630841995589435, 0.39671854530413236],
            "net.encoder.0.weight": [-881.3107963414895, 810.5931117290834],
            "net.encoder.2.bias": [-0.8827742371940985, 0.24912269684587657],
            "net.encoder.2.weight": [-405.5234794943026, 457.09808140575126],
            "net.encoder.4.bias": [0.4281822207267396, 0.1271208778238479],
            "net.encoder.4.weight": [97.06205600142857, 197.03635391913264],
        },
    },
    'union_concat-epoch': {
        "val_auroc_history": [0.868055522441864, 0.7561728954315186],
        "threshold": 32.55756759643555,
        "weights": {
            "net.decoder.0.bias": [4.41177003030316, 0.2617304473613529],
            "net.decoder.0.weight": [481.7262516027549, 201.12924364951812],
            "net.decoder.2.bias": [-18.366926302900538, 0.7851899247656957],
            "net.decoder.2.weight": [-4607.6196435693855, 542.2810570170839],
            "net.decoder.4.bias": [-14.718949576315936, 0.30233915641840675],
            "net.decoder.4.weight": [-7434.967742181581, 791.1220598089379],
            "net.encoder.0.bias": [-1.4010922068555374, 0.40489397053831616],
            "net.encoder.0.weight": [-651.8553251122821, 787.4754669974797],
            "net.encoder.2.bias": [-0.748528522090055, 0.244582050013452],
            "net.encoder.2.weight": [-344.6953922120156, 453.157680614704],
            "net.encoder.4.bias": [0.43680337314435747, 0.12678451788470171],
            "net.encoder.4.weight": [101.5825617187802, 196.4999242550519],
        },
    },
    'spatial-batch': {
        "val_auroc_history": [0.868055522441864, 0.7561728954315186],
        "threshold": 32.56309127807617,
        "weights": {
            "net.decoder.0.bias": [4.414072221261449, 0.261591394946168],
            "net.decoder.0.weight": [482.02868919416505, 201.11134354545496],
            "net.decoder.2.bias": [-18.368871432030573, 0.7853370182620333],
            "net.decoder.2.weight": [-4608.413420532204, 542.324610603496],
            "net.decoder.4.bias": [-14.718471415748354, 0.3023199792340526],
            "net.decoder.4.weight": [-7434.636636955191, 791.1015633893102],
            "net.encoder.0.bias": [-1.9564942331053317, 0.4145263226957235],
            "net.encoder.0.weight": [-839.5367656504059, 775.2894932668048],
            "net.encoder.2.bias": [-0.8415287792449817, 0.2490733981463798],
            "net.encoder.2.weight": [-387.80201557435794, 456.6409527369308],
            "net.encoder.4.bias": [0.43031064653769135, 0.12713990692810112],
            "net.encoder.4.weight": [98.94192462069623, 196.93695621061184],
        },
    },
}


def fingerprint(run_dir) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    return {
        "val_auroc_history": results["val_auroc_history"],
        "threshold": results["detector"]["threshold"],
        "weights": {k: [float(v.double().sum()), float(v.double().pow(2).sum())] for k, v in sorted(state.items())},
    }


def train(faint_root, tmp_path, name):
    attack = RUNS[name][0].removeprefix("attack=")
    proc = run_train([*FAINT, *RUNS[name], *CHEAP_ATTACK[attack], "normal_class=1", "hydra.run.dir=run"],
                     faint_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return fingerprint(tmp_path / "run")


@pytest.mark.parametrize("name", list(RUNS))
def test_a_separate_jobs_numbers_are_pinned(faint_root, tmp_path, name):
    got = train(faint_root, tmp_path, name)
    if os.environ.get("ARAE_PIN"):
        print(f"\n    {name!r}: {got!r},")
        return
    pinned = PINNED[name]
    assert got["val_auroc_history"] == pytest.approx(pinned["val_auroc_history"], abs=1e-6)
    assert got["threshold"] == pytest.approx(pinned["threshold"], rel=1e-5)
    assert got["weights"].keys() == pinned["weights"].keys()
    for key, (total, squares) in pinned["weights"].items():
        assert got["weights"][key] == pytest.approx([total, squares], rel=1e-4, abs=1e-4), key
