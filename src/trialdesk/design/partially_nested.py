"""Partially nested designs: therapy groups in the intervention arm only.

In the IMR trial participants randomised to IMR are treated in groups of about ``m = 10``; the control
arm (treatment as usual) is not grouped. Outcomes in the intervention arm share a group effect with
intra-class correlation ICC, so that arm's mean has its variance multiplied by the design effect
``DE = 1 + (m - 1) ICC``, while the control arm's is not (Roberts C, Roberts SA. Design and analysis of
clinical trials with clustering effects due to treatment. Clin Trials 2005;2:152-162; Moerbeek M, Wong
WK. Sample size formulae for trials comparing group and individual treatments in a multilevel model.
Stat Med 2008;27:2850-2864). With n1 in the intervention arm, n0 in control and total SDs s1, s0::

    Var(difference) = s1**2 DE / n1 + s0**2 / n0

It is smallest for a fixed total when ``n1 / n0 = (s1 / s0) sqrt(DE)`` (both papers), so unequal
allocation in favour of the clustered arm is efficient. Power uses the non-central t, as R's
``power.t.test``, with Satterthwaite's degrees of freedom from the two variance components: ``k - 1``
for the intervention arm (k = n1 / m groups: its variance is estimated from group means) and ``n0 - 1``
for control. With ICC = 0, equal SDs and 1:1 allocation this is exactly ``power.t.test``: the
intervention arm then has ``n1 - 1`` degrees of freedom.
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


def design_effect(cluster_size: float, icc: float) -> float:
    """``1 + (m - 1) ICC``: the variance inflation of a mean over groups of size m."""
    if not math.isfinite(cluster_size) or cluster_size < 1:
        raise UserError(f"cluster size must be at least 1 (got {cluster_size})")
    if not math.isfinite(icc) or not 0.0 <= icc < 1.0:
        raise UserError(f"icc must be in [0, 1) (got {icc})")
    return 1.0 + (cluster_size - 1.0) * icc


def optimal_ratio(cluster_size: float, icc: float, sd_intervention: float = 1.0,
                  sd_control: float = 1.0) -> float:
    """Intervention : control allocation that minimises the variance for a fixed total (s1/s0 sqrt(DE))."""
    return sd_intervention / sd_control * math.sqrt(design_effect(cluster_size, icc))


def _power(n0: float, *, ratio: float, delta: float, sd1: float, sd0: float, m: float, icc: float,
           alpha: float, sides: int) -> float:
    n1 = ratio * n0
    de = design_effect(m, icc)
    v1 = sd1**2 * de / n1
    v0 = sd0**2 / n0
    df1 = n1 / m - 1.0 if icc > 0 else n1 - 1.0
    df = (v1 + v0) ** 2 / (v1**2 / df1 + v0**2 / (n0 - 1.0))
    critical = sps.t.isf(alpha / sides, df)
    return float(sps.nct.sf(critical, df, delta / math.sqrt(v1 + v0)))


def power_partially_nested(
    delta: float,
    sd: float,
    icc: float,
    cluster_size: float,
    *,
    ratio: float | None = 1.0,
    sd_control: float | None = None,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    dropout: float = 0.0,
) -> DesignResult:
    """n in the control arm (and the intervention arm) or power for a partially nested design.

    ``ratio`` is n_intervention / n_control; ``None`` uses the optimal ratio ``(s1/s0) sqrt(DE)``.
    ``sd`` is the intervention arm's total SD, ``sd_control`` the control arm's (default: the same).
    ``n`` (when given) is the control arm's size.
    """
    check_n_or_power(n, power)
    check_positive("sd", sd)
    sd0 = sd if sd_control is None else sd_control
    check_positive("sd_control", sd0)
    check_probability("alpha", alpha)
    check_sides(sides)
    de = design_effect(cluster_size, icc)
    best = optimal_ratio(cluster_size, icc, sd, sd0)
    allocation = best if ratio is None else ratio
    check_positive("ratio", allocation)
    delta = abs(delta) if sides == 2 else delta
    # at least two groups in the intervention arm, so its variance has a degree of freedom
    lower = max(2.0, (2.0 * cluster_size if icc > 0 else 2.0) / allocation)
    if n is not None and n < lower:
        raise UserError(f"n = {n} in control gives fewer than 2 groups of {cluster_size:g} in the "
                        f"intervention arm at ratio {allocation:g}; need n >= {lower:g}")

    def power_at(size: float) -> float:
        return _power(size, ratio=allocation, delta=delta, sd1=sd, sd0=sd0, m=cluster_size, icc=icc,
                      alpha=alpha, sides=sides)

    if n is None:
        assert power is not None
        if delta <= 0:
            raise UserError(f"delta must be > 0 to solve for n (got {delta}): no n gives power {power}")
        n = solve_n(power_at, power, lower=lower)
    n1 = allocation * n
    return DesignResult(
        design="pnm",
        method="Partially nested design: clustering in the intervention arm only",
        n_per_arm=n,
        power=power_at(n),
        alpha=alpha,
        sides=sides,
        n_by_arm={"control": n, "intervention": n1},
        parameters={
            "delta": delta, "sd_intervention": sd, "sd_control": sd0, "icc": icc,
            "cluster_size": cluster_size, "design_effect": de, "ratio": allocation,
            "optimal_ratio": best, "groups_intervention": n1 / cluster_size,
        },
        dropout=dropout,
        reference="Roberts & Roberts 2005 (Clin Trials 2:152); Moerbeek & Wong 2008 (Stat Med 27:2850)",
        note="n_per_arm is the control arm; the intervention arm has ratio * n in groups of cluster_size",
    )
