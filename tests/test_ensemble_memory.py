import json
import subprocess
import sys

import pytest

# Six training-like steps of a 10-member stacked MLP in a fresh process; the median page faults of a step
# after the first (the heap still grows once in a while when its blocks are kept: one step of thousands).
STEPS = """
import json, resource, sys, torch
from arae.ensemble.memory import keep_freed_memory
from arae.ensemble.stacked import StackedNets
from arae.models import MLPAutoencoder
torch.set_num_threads(1)
import ctypes
from arae.ensemble.memory import _M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD
# glibc's default thresholds, held there (left alone they rise after a free, and faults come and go)
libc = ctypes.CDLL(None)
done = libc.mallopt(_M_MMAP_THRESHOLD, 128 << 10) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, 128 << 10) == 1
if sys.argv[1] == "keep":
    done = done and keep_freed_memory()
nets = [MLPAutoencoder((1, 28, 28), [512, 256, 128], "sigmoid", "sigmoid", "sigmoid") for _ in range(10)]
stacked = StackedNets(nets)
x = torch.rand(10 * 128, 1, 28, 28)
faults = []
for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    stacked.zero_grad(set_to_none=True)
    x_adv = x.clone().requires_grad_()
    grad, = torch.autograd.grad(stacked.encode(x_adv).sum(), x_adv)
    ((stacked(x + grad.sign() * 0.01) - x) ** 2).mean().backward()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"set": done, "faults": sorted(faults[1:])[2]}))
"""


def _faults(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds")
def test_an_ensembles_freed_memory_is_reused_without_page_faults():
    returned = _faults("return")
    if not returned["set"]:
        pytest.skip("no glibc mallopt here")
    assert returned["faults"] > 1000  # blocks handed back to the system: each step faults them in again
    kept = _faults("keep")
    assert kept["set"] and kept["faults"] < 100
