import json
import subprocess
import sys

import pytest

# Five training-like steps of a 10-member stacked MLP in a fresh process; the page faults of the last three.
STEPS = """
import json, resource, sys, torch
from arae.ensemble.memory import keep_freed_memory
from arae.ensemble.stacked import StackedNets
from arae.models import MLPAutoencoder
torch.set_num_threads(1)
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
nets = [MLPAutoencoder((1, 28, 28), [512, 256, 128], "sigmoid", "sigmoid", "sigmoid") for _ in range(10)]
stacked = StackedNets(nets)
x = torch.rand(10 * 128, 1, 28, 28)
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    stacked.zero_grad(set_to_none=True)
    x_adv = x.clone().requires_grad_()
    grad, = torch.autograd.grad(stacked.encode(x_adv).sum(), x_adv)
    ((stacked(x + grad.sign() * 0.01) - x) ** 2).mean().backward()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"kept": kept, "faults": sum(faults[2:])}))
"""


def _faults(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds")
def test_an_ensembles_freed_memory_is_reused_without_page_faults():
    kept = _faults("keep")
    if not kept["kept"]:
        pytest.skip("no glibc mallopt here")
    default = _faults("default")
    assert default["faults"] > 1000  # otherwise this test shows nothing: glibc already keeps such blocks
    assert kept["faults"] < default["faults"] / 10
