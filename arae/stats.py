"""The one spread convention of the project: mean and **sample** standard deviation (ddof=1).

Every std that arae writes or prints uses `mean_std`: the std of the last-K epochs' AUROC of one run
(results.json `auroc_last_k.std`), the std over seeds or over classes in the reports and the paper
comparison tables, and the 95 % intervals of the fidelity study. One value has no sample std: `mean_std`
gives None for it (written as null).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def finite(values: Iterable[float | None]) -> list[float]:
    """The values that are numbers (not None, not NaN or infinite), as floats."""
    return [float(v) for v in values if v is not None and not isinstance(v, bool) and math.isfinite(v)]


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof=1) of the finite values; (None, None) for none, std None for one."""
    values = finite(values)
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)
