"""What a run prints while it trains: the bar follows the attack and the loss; without it, a line per epoch."""

import re

from conftest import TINY, run_train

NO_BAR = [o for o in TINY if not o.startswith("trainer.enable_progress_bar")]


def test_without_the_bar_one_line_per_epoch(fake_root, tmp_path):
    proc = run_train([*TINY, "num_threads=1"], fake_root, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if re.search(r"\] - epoch \d+/2 ", line)]
    assert len(lines) == 2, proc.stdout[-3000:]
    for epoch, line in enumerate(lines, start=1):
        assert re.search(
            rf"epoch {epoch}/2  loss \S+  loss_rec \S+  loss_latent \S+  val/auroc [01]\.\d{{4}}  "
            r"val/fpr@99\.5tpr [01]\.\d{4}  \d+\.\d s$",
            line,
        ), line


def test_the_bar_shows_the_crafting_and_the_training_loss(fake_root, tmp_path):
    args = [*NO_BAR, "trainer.enable_progress_bar=true", "crafting.chunk_size=16", "num_threads=1"]
    proc = run_train(args, fake_root, tmp_path, env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = proc.stdout + proc.stderr
    assert re.search(r"crafting 2/2 .* 40/40", shown), shown[-3000:]  # all 40 training normals attacked
    assert re.search(r"train/loss: \d", shown), shown[-3000:]
    assert not re.search(r"\] - epoch \d+/2 ", shown)  # the lines are for runs without the bar
