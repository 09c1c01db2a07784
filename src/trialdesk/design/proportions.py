"""Two proportions: power and sample size with the same formula as R's ``stats::power.prop.test``.

With n per arm, ``q = qnorm(1 - alpha / sides)`` and ``pbar = (p1 + p2) / 2``, R computes::

    power = pnorm((sqrt(n) |p1 - p2| - q sqrt((p1 + p2)(1 - pbar))) / sqrt(p1 (1 - p1) + p2 (1 - p2)))

(the normal approximation with the pooled variance under H0); ``strict = TRUE`` adds the other tail of
a two-sided test. Solving for n, R uses ``uniroot`` on [2, 1e7]; we solve to a tighter tolerance.
"""

from __future__ import annotations

import math

from scipy import stats as sps

from trialdesk.design.result import (
    DesignResult,
    check_n_or_power,
    check_probability,
    check_sides,
    solve_n,
)
from trialdesk.errors import UserError

REFERENCE = "R stats::power.prop.test; normal approximation, pooled variance under H0"


def prop_power(n: float, p1: float, p2: float, alpha: float, sides: int, *, strict: bool = False) -> float:
    quantile = float(sps.norm.isf(alpha / sides))
    difference = abs(p1 - p2)
    pooled = math.sqrt((p1 + p2) * (1 - (p1 + p2) / 2))
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    power = float(sps.norm.cdf((math.sqrt(n) * difference - quantile * pooled) / spread))
    if strict and sides == 2:
        power += float(sps.norm.cdf((-math.sqrt(n) * difference - quantile * pooled) / spread))
    return power


def power_prop_test(
    p1: float,
    p2: float,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    strict: bool = False,
    dropout: float = 0.0,
) -> DesignResult:
    """n per arm (unrounded) or power for comparing two proportions, as R's ``power.prop.test``."""
    check_n_or_power(n, power, minimum=1.0)  # R's power.prop.test allows n >= 1
    check_probability("p1", p1)
    check_probability("p2", p2)
    check_probability("alpha", alpha)
    check_sides(sides)

    def power_at(size: float) -> float:
        return prop_power(size, p1, p2, alpha, sides, strict=strict)

    if n is None:
        assert power is not None
        if p1 == p2:
            raise UserError(f"p1 and p2 are equal ({p1}): no n gives power {power}")
        n = solve_n(power_at, power)
    return DesignResult(
        design="prop",
        method="Two-sample comparison of proportions power calculation",
        n_per_arm=n,
        power=power_at(n),
        alpha=alpha,
        sides=sides,
        parameters={"p1": p1, "p2": p2, "strict": strict},
        dropout=dropout,
        reference=REFERENCE,
        note="n is number in *each* group",
    )
