"""Start-up budget: Hydra imports every launcher and sweeper plugin on every command (`--help` included),
and the config resolvers run before any job. None of that may import torch, Lightning or torchmetrics
(seconds each): they are imported only when a job or a launcher's sweep actually starts. Counted in
sys.modules of a fresh interpreter, so the test holds on a loaded machine as on an idle one."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.startup

HEAVY = ("torch", "pytorch_lightning", "lightning_fabric", "torchmetrics", "torchvision", "wandb", "matplotlib")

PROBE = """
import json, runpy, sys
sys.argv = ["train.py", *{args!r}]
try:
    runpy.run_path({train!r}, run_name="__main__")
except SystemExit as stop:
    assert not stop.code, stop.code
assert "hydra_plugins.arae_ensemble_launcher.ensemble_launcher" in sys.modules  # the plugin scan ran
print("\\nMODULES " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_modules_after(code: str) -> list[str]:
    """Run from the checkout, where Hydra finds this project's launcher plugin (hydra_plugins/) as an
    installed copy does; nothing here writes a file."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.rsplit("MODULES ", 1)[1])


def test_the_hydra_plugin_scan_imports_nothing_heavy():
    code = (
        "import json, sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.launcher import Launcher\n"
        "names = [p.__name__ for p in Plugins.instance().discover(Launcher)]\n"
        "assert 'EnsembleLauncher' in names, names\n"
        f"print('MODULES ' + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    assert _heavy_modules_after(code) == []


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["--cfg", "job", "variant=arae_a", "normal_class=[4,5]"]])
def test_help_and_cfg_import_nothing_heavy(args):
    code = PROBE.format(args=args, train=str(REPO / "train.py"), heavy=HEAVY)
    assert _heavy_modules_after(code) == []


def test_import_arae_is_light_and_still_offers_the_module():
    code = (
        "import json, sys\nimport arae\nimport arae.config\nimport arae.data.classes\n"
        f"print('MODULES ' + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    assert _heavy_modules_after(code) == []
    from arae import ARAEModule
    from arae.training import ARAEModule as where_it_lives

    assert ARAEModule is where_it_lives
