"""What Lightning prints that is not ours to say. A run shows its own lines (the progress bar or the epoch
lines, the summary); of Lightning's, the device lines once per process (once per sweep with the basic and
ensemble launchers), its advertisements and its routine end-of-fit line not at all. Installed by every
job, at run time: filters set while a module is imported can be undone by a `warnings.catch_warnings`
around the import (Hydra's plugin scan has one)."""

from __future__ import annotations

import logging
import warnings

# Lightning's rank_zero_info lines all go through this logger.
LIGHTNING_INFO = "pytorch_lightning.utilities.rank_zero"
ONCE = ("GPU available:", "TPU available:", "HPU available:", "Using bfloat16 Automatic Mixed Precision",
        "Using 16bit Automatic Mixed Precision")
NEVER = ("💡 Tip:", "`Trainer.fit` stopped: `max_epochs=")
# Warnings whose cause is not ours to remove:
# - every loader serves in-memory tensors sliced per batch (arae/data/loaders.py): worker processes would
#   only add overhead, so Lightning's advice to add some is declined;
# - Lightning (up to 2.6) builds torch's deprecated LeafSpec for every batch with torch >= 2.10.
DECLINED = (
    (r".*does not have many workers.*", Warning),
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
)


class LightningBanners(logging.Filter):
    """Drops Lightning's tips and its 'max_epochs reached' line; lets each device line through once."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(NEVER):
            return False
        if message.startswith(ONCE):
            if message in self.seen:
                return False
            self.seen.add(message)
        return True


def quiet_lightning() -> None:
    """Install the filters above (again harmless: each is installed once)."""
    logger = logging.getLogger(LIGHTNING_INFO)
    if not any(isinstance(f, LightningBanners) for f in logger.filters):
        logger.addFilter(LightningBanners())
    for message, category in DECLINED:
        warnings.filterwarnings("ignore", message=message, category=category)
