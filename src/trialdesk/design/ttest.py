"""Two-sample t-test power and sample size, the same formulas as R's ``stats::power.t.test``.

R (``power.t.test``, type "two.sample") computes, with n per arm, ``nu = 2 (n - 1)`` and the
non-centrality ``ncp = sqrt(n / 2) * delta / sd``::

    power = P(T'(nu, ncp) > qt(1 - alpha / sides, nu))

with ``T'`` the non-central t; ``strict = TRUE`` adds the lower rejection region of a two-sided test,
``P(T'(nu, ncp) < -qt(1 - alpha/2, nu))``. Solving for n, R calls ``uniroot`` on [2, 1e7]; we solve to a
tighter tolerance (see :func:`trialdesk.design.result.solve_n`). The non-central t is scipy's ``nct``
(Boost's implementation), which agrees with R's ``pt(..., ncp)`` to better than 1e-9 on the reference
cases in ``tests/reference/design``.
"""

from __future__ import annotations

import math

from scipy import stats as sps

from trialdesk.design.result import (
    DesignResult,
    check_n_or_power,
    check_positive,
    check_probability,
    check_sides,
    solve_n,
)
from trialdesk.errors import UserError

REFERENCE = "R stats::power.t.test (type = 'two.sample'); non-central t"


def t_power(
    n: float, delta: float, sd: float, alpha: float, sides: int, *, df: float | None = None,
    strict: bool = False,
) -> float:
    """Power of a two-sample t-test with n per arm; ``df`` overrides R's 2(n - 1) (e.g. ANCOVA)."""
    nu = 2.0 * (n - 1.0) if df is None else df
    ncp = math.sqrt(n / 2.0) * delta / sd
    critical = sps.t.isf(alpha / sides, nu)
    power = float(sps.nct.sf(critical, nu, ncp))
    if strict and sides == 2:
        # P(T' < -c) written as the upper tail at -ncp: scipy's nct.cdf returns NaN far in the tail
        lower = float(sps.nct.sf(critical, nu, -ncp))
        power += lower if math.isfinite(lower) else 0.0
    return power


def power_t_test(
    delta: float,
    sd: float = 1.0,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    strict: bool = False,
    dropout: float = 0.0,
) -> DesignResult:
    """n per arm (unrounded) or power for a two-sample t-test, exactly as R's ``power.t.test``.

    Give ``n`` to get the power, or ``power`` to get n. ``delta`` is the true difference in means.
    """
    check_n_or_power(n, power)
    check_positive("sd", sd)
    check_probability("alpha", alpha)
    check_sides(sides)
    if not math.isfinite(delta):
        raise UserError(f"delta must be a number (got {delta})")
    if sides == 2:
        delta = abs(delta)  # as R: a two-sided test does not care about the sign

    def power_at(size: float) -> float:
        return t_power(size, delta, sd, alpha, sides, strict=strict)

    if n is None:
        assert power is not None
        if delta <= 0:
            raise UserError(f"delta must be > 0 to solve for n (got {delta}): no n gives power {power}")
        n = solve_n(power_at, power)
    achieved = power_at(n)
    return DesignResult(
        design="ttest",
        method="Two-sample t test power calculation",
        n_per_arm=n,
        power=achieved,
        alpha=alpha,
        sides=sides,
        parameters={"delta": delta, "sd": sd, "strict": strict},
        dropout=dropout,
        reference=REFERENCE,
        note="n is number in *each* group",
    )
