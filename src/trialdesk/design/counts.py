"""Count outcomes (admissions, bed days, ER visits): the rate ratio under Poisson or negative binomial.

Zhu H, Lakkis H. Sample size calculation for comparing two negative binomial rates. Stat Med
2014;33:376-387. Counts over an exposure ``t`` with rates ``mu0`` (control) and ``mu1`` (intervention),
negative binomial dispersion ``k`` (``Var = mu + k mu**2``; ``k = 0`` is Poisson) and allocation
``r = n1 / n0``; the Wald test of the log rate ratio has, per control participant, variance under the
alternative::

    V1 = (1 / t) (1 / mu0 + 1 / (r mu1)) + (1 + r) k / r

and under H0 one of (the paper's three approaches)::

    1: V0 = (1 + r) / (t r mu0) + (1 + r) k / r                        (both rates at mu0)
    2: V0 = V1                                                        (true rates)
    3: V0 = (1 + r)**2 / (t r (mu0 + r mu1)) + (1 + r) k / r          (maximum likelihood under H0)

    n0 = (z_{1 - alpha/sides} sqrt(V0) + z_{power} sqrt(V1))**2 / log(mu1 / mu0)**2

Approach 3 is the paper's recommendation and our default.
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
)
from trialdesk.errors import UserError


def _variances(mu0: float, mu1: float, *, dispersion: float, duration: float, ratio: float,
               approach: int) -> tuple[float, float]:
    overdispersion = (1 + ratio) * dispersion / ratio
    v1 = (1 / mu0 + 1 / (ratio * mu1)) / duration + overdispersion
    if approach == 1:
        v0 = (1 + ratio) / (duration * ratio * mu0) + overdispersion
    elif approach == 2:
        v0 = v1
    elif approach == 3:
        v0 = (1 + ratio) ** 2 / (duration * ratio * (mu0 + ratio * mu1)) + overdispersion
    else:
        raise UserError(f"approach must be 1, 2 or 3 (got {approach})")
    return v0, v1


def power_counts(
    mu0: float,
    mu1: float,
    *,
    dispersion: float = 0.0,
    duration: float = 1.0,
    ratio: float = 1.0,
    approach: int = 3,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    dropout: float = 0.0,
) -> DesignResult:
    """Control-arm n or power for a rate ratio mu1 / mu0 (Zhu & Lakkis 2014); dispersion 0 is Poisson.

    ``mu0`` and ``mu1`` are event rates per unit of ``duration``; ``ratio`` is n1 / n0.
    """
    check_n_or_power(n, power, minimum=1.0)
    check_positive("mu0", mu0)
    check_positive("mu1", mu1)
    check_positive("duration", duration)
    check_positive("ratio", ratio)
    if not math.isfinite(dispersion) or dispersion < 0:
        raise UserError(f"dispersion must be >= 0 (got {dispersion}); 0 is Poisson")
    check_probability("alpha", alpha)
    check_sides(sides)
    v0, v1 = _variances(mu0, mu1, dispersion=dispersion, duration=duration, ratio=ratio,
                        approach=approach)
    effect = abs(math.log(mu1 / mu0))
    quantile = float(sps.norm.isf(alpha / sides))
    if n is None:
        assert power is not None
        if effect == 0:
            raise UserError(f"mu0 and mu1 are equal ({mu0}): no n gives power {power}")
        n = ((quantile * math.sqrt(v0) + float(sps.norm.ppf(power)) * math.sqrt(v1)) / effect) ** 2
    achieved = float(sps.norm.cdf((math.sqrt(n) * effect - quantile * math.sqrt(v0)) / math.sqrt(v1)))
    model = "Poisson" if dispersion == 0 else "negative binomial"
    return DesignResult(
        design="counts",
        method=f"Rate ratio of two {model} counts (Zhu & Lakkis 2014, approach {approach})",
        n_per_arm=n,
        power=achieved,
        alpha=alpha,
        sides=sides,
        n_by_arm={"control": n, "intervention": ratio * n},
        parameters={
            "mu0": mu0, "mu1": mu1, "rate_ratio": mu1 / mu0, "dispersion": dispersion,
            "duration": duration, "ratio": ratio, "approach": approach, "v0": v0, "v1": v1,
        },
        dropout=dropout,
        reference="Zhu & Lakkis 2014 (Stat Med 33:376)",
        note="n_per_arm is the control arm; the intervention arm has ratio * n",
    )
