"""Baseline-adjusted designs: ANCOVA on one follow-up, and means of repeated measures.

ANCOVA (Borm GF, Fransen J, Lemmens WAJG. A simple sample size formula for analysis of covariance in
randomized clinical trials. J Clin Epidemiol 2007;60:1234-1238): adjusting the follow-up outcome for
its baseline value, with baseline-outcome correlation rho, multiplies the residual variance by
``1 - rho**2``, so the t-test sample size shrinks by that factor. We keep R's non-central t of
``power.t.test`` with the SD ``sd * sqrt(1 - rho**2)`` and one degree of freedom fewer (``2n - 3``: the
baseline slope is estimated), which Borm et al.'s large-sample formula ignores; the two agree to within
about one participant per arm.

Repeated measures (Frison L, Pocock SJ. Repeated measures in clinical trials: analysis using mean
summary statistics and its implications for design. Stat Med 1992;11:1685-1704; also Diggle PJ,
Heagerty P, Liang K-Y, Zeger SL. Analysis of Longitudinal Data, 2nd ed. 2002, section 2.4): with ``p``
baseline and ``r`` follow-up measurements of compound-symmetric correlation rho, the variance of the
treatment effect relative to a single post-randomisation measurement is

* POST   (mean of follow-ups):            ``(1 + (r - 1) rho) / r``
* CHANGE (mean follow-up - mean baseline): ``(1 + (r - 1) rho) / r + (1 + (p - 1) rho) / p - 2 rho``
* ANCOVA (mean follow-up adjusted for mean baseline): ``(1 + (r - 1) rho) / r - p rho**2 / (1 + (p - 1) rho)``

With ``p = r = 1`` these are 1, ``2 (1 - rho)`` and ``1 - rho**2``.
"""

from __future__ import annotations

import math
from typing import Literal

from trialdesk.design.result import (
    DesignResult,
    check_n_or_power,
    check_positive,
    check_probability,
    check_sides,
    solve_n,
)
from trialdesk.design.ttest import t_power
from trialdesk.errors import UserError

SummaryMethod = Literal["post", "change", "ancova"]


def _check_rho(rho: float) -> None:
    if not math.isfinite(rho) or not -1.0 < rho < 1.0:
        raise UserError(f"rho must be strictly between -1 and 1 (got {rho})")


def frison_pocock_factor(rho: float, n_baseline: int = 1, n_followup: int = 1,
                         method: SummaryMethod = "ancova") -> float:
    """Variance of the treatment effect relative to one follow-up measurement (Frison & Pocock 1992)."""
    _check_rho(rho)
    if n_baseline < 1 or n_followup < 1:
        raise UserError(f"need at least one baseline and one follow-up (got {n_baseline}, {n_followup})")
    post = (1 + (n_followup - 1) * rho) / n_followup
    baseline = (1 + (n_baseline - 1) * rho) / n_baseline
    if method == "post":
        return post
    if method == "change":
        return post + baseline - 2 * rho
    if method == "ancova":
        return post - n_baseline * rho**2 / (1 + (n_baseline - 1) * rho)
    raise UserError(f"method must be post, change or ancova (got {method!r})")


def power_repeated_measures(
    delta: float,
    sd: float,
    rho: float,
    *,
    n_baseline: int = 1,
    n_followup: int = 1,
    method: SummaryMethod = "ancova",
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    dropout: float = 0.0,
) -> DesignResult:
    """n per arm or power for a mean-summary analysis of repeated measures (Frison & Pocock 1992)."""
    check_n_or_power(n, power)
    check_positive("sd", sd)
    check_probability("alpha", alpha)
    check_sides(sides)
    factor = frison_pocock_factor(rho, n_baseline, n_followup, method)
    if factor <= 0:
        raise UserError(f"variance factor {factor} is not positive for rho {rho}: check the inputs")
    effective_sd = sd * math.sqrt(factor)
    delta = abs(delta) if sides == 2 else delta
    slopes = 1 if method == "ancova" else 0

    def power_at(size: float) -> float:
        return t_power(size, delta, effective_sd, alpha, sides, df=2 * size - 2 - slopes)

    if n is None:
        assert power is not None
        if delta <= 0:
            raise UserError(f"delta must be > 0 to solve for n (got {delta}): no n gives power {power}")
        n = solve_n(power_at, power, lower=2.0 + slopes)
    design = "ancova" if (method == "ancova" and n_baseline == 1 and n_followup == 1) else "repeated"
    return DesignResult(
        design=design,
        method=f"Two-sample {method.upper()} on means of repeated measures (Frison & Pocock 1992)"
        if design == "repeated" else "Two-sample ANCOVA adjusted for baseline (Borm et al. 2007)",
        n_per_arm=n,
        power=power_at(n),
        alpha=alpha,
        sides=sides,
        parameters={
            "delta": delta, "sd": sd, "rho": rho, "n_baseline": n_baseline, "n_followup": n_followup,
            "summary": method, "variance_factor": factor, "effective_sd": effective_sd,
            "df": f"2n - {2 + slopes}",
        },
        dropout=dropout,
        reference="Borm, Fransen & Lemmens 2007 (J Clin Epidemiol 60:1234); Frison & Pocock 1992 "
                  "(Stat Med 11:1685)",
        note="non-central t as power.t.test with sd * sqrt(variance factor); n is number in *each* group",
    )


def power_ancova(
    delta: float,
    sd: float,
    rho: float,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    dropout: float = 0.0,
) -> DesignResult:
    """n per arm or power for ANCOVA of one follow-up adjusted for baseline (variance factor 1 - rho^2)."""
    return power_repeated_measures(
        delta, sd, rho, n=n, power=power, alpha=alpha, sides=sides, dropout=dropout, method="ancova"
    )
