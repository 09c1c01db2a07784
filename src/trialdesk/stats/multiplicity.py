"""Adjustments for testing several hypotheses: Bonferroni, Holm, fixed-sequence (hierarchical).

Bonferroni and Holm come from statsmodels (``multipletests``). The fixed-sequence procedure tests the
hypotheses in their pre-specified order, each at the full α, and stops at the first that is not
rejected (Maurer, Hothorn & Lehmacher 1995; EMA guideline on multiplicity, 2017). Its adjusted p-value
is the running maximum of the p-values in that order, so a hypothesis is rejected exactly when its
adjusted p-value is ≤ α. statsmodels has no fixed-sequence procedure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from trialdesk.errors import UserError

METHODS = ("bonferroni", "holm", "fixed-sequence")


def adjust(pvalues: Sequence[float], method: str = "holm", alpha: float = 0.05,
           names: Sequence[str] | None = None) -> pd.DataFrame:
    """Adjusted p-values and decisions; for ``fixed-sequence`` the order given is the testing order.

    Columns: ``hypothesis, p, p_adjusted, reject, tested`` (``tested`` is False for hypotheses after the
    first non-rejection of a fixed sequence).
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or len(p) == 0:
        raise UserError("give at least one p-value")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise UserError(f"p-values must lie in [0, 1]; got {p.tolist()}")
    if not 0 < alpha < 1:
        raise UserError(f"alpha must be between 0 and 1, got {alpha}")
    labels = list(names) if names is not None else [f"H{i + 1}" for i in range(len(p))]
    if len(labels) != len(p):
        raise UserError(f"{len(labels)} names for {len(p)} p-values")
    if method in ("bonferroni", "holm"):
        reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=method)
        tested = np.ones(len(p), dtype=bool)
    elif method == "fixed-sequence":
        adjusted = np.maximum.accumulate(p)
        reject = adjusted <= alpha
        first_fail = int(np.argmin(reject)) if not reject.all() else len(p)
        tested = np.arange(len(p)) <= first_fail
    else:
        raise UserError(f"multiplicity method {method!r} is not one of {', '.join(METHODS)}")
    return pd.DataFrame({"hypothesis": labels, "p": p, "p_adjusted": np.asarray(adjusted, float),
                         "reject": np.asarray(reject, bool), "tested": tested, "method": method})
