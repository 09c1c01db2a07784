"""Effect sizes with confidence intervals for two-arm comparisons.

* Mean difference with a t interval, pooled-variance (Student) or Welch.
* Hedges' g: Cohen's d on the pooled SD times J = 1 − 3/(4(n₁ + n₂) − 9), with the large-sample
  variance V_d = (n₁ + n₂)/(n₁ n₂) + d²/(2(n₁ + n₂)), V_g = J² V_d (Borenstein, Hedges, Higgins &
  Rothstein, *Introduction to Meta-Analysis*, 2009, ch. 4, eqs 4.18–4.24).
* Rate ratio from events and person-time, Wald interval on the log scale, SE √(1/a + 1/b).
* Odds ratio from a 2×2 table, Woolf (Wald) interval, SE √(1/a + 1/b + 1/c + 1/d).

Each returns a one-row tidy frame: ``measure, estimate, se, ci_low, ci_high`` (SE on the scale the
interval is built on: the log scale for ratios) plus the inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from trialdesk.errors import UserError


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise UserError(f"confidence level must be between 0 and 1, got {level}")
    return float(sps.norm.ppf(0.5 + level / 2))


def _summaries(values: pd.Series | np.ndarray | list[float], name: str) -> tuple[int, float, float]:
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        raise UserError(f"{name} has {len(x)} non-missing value(s); at least 2 are needed")
    return len(x), float(x.mean()), float(x.std(ddof=1))


Values = pd.Series | np.ndarray | list[float]


def mean_difference(treated: Values, control: Values, *,
                    level: float = 0.95, welch: bool = False) -> pd.DataFrame:
    """Difference in means (treated − control) with a t confidence interval."""
    n1, m1, s1 = _summaries(treated, "treated group")
    n0, m0, s0 = _summaries(control, "control group")
    return mean_difference_from_summary(mean1=m1, sd1=s1, n1=n1, mean0=m0, sd0=s0, n0=n0, level=level,
                                        welch=welch)


def mean_difference_from_summary(*, mean1: float, sd1: float, n1: int, mean0: float, sd0: float, n0: int,
                                 level: float = 0.95, welch: bool = False) -> pd.DataFrame:
    """Mean difference from published summaries (mean, SD, n per arm)."""
    if n1 < 2 or n0 < 2:
        raise UserError(f"each arm needs n >= 2 (got {n1} and {n0})")
    if welch:
        v1, v0 = sd1**2 / n1, sd0**2 / n0
        se = np.sqrt(v1 + v0)
        df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    else:
        pooled = ((n1 - 1) * sd1**2 + (n0 - 1) * sd0**2) / (n1 + n0 - 2)
        se = np.sqrt(pooled * (1 / n1 + 1 / n0))
        df = n1 + n0 - 2
    diff = mean1 - mean0
    q = float(sps.t.ppf(0.5 + level / 2, df))
    return pd.DataFrame([{"measure": "mean difference", "estimate": diff, "se": float(se), "df": float(df),
                          "ci_low": diff - q * se, "ci_high": diff + q * se, "n_treated": n1,
                          "n_control": n0}])


def hedges_g_from_summary(*, mean1: float, sd1: float, n1: int, mean0: float, sd0: float, n0: int,
                          level: float = 0.95) -> pd.DataFrame:
    """Hedges' g (bias-corrected standardised mean difference) with a normal-approximation CI."""
    if n1 < 2 or n0 < 2:
        raise UserError(f"each arm needs n >= 2 (got {n1} and {n0})")
    s_within = np.sqrt(((n1 - 1) * sd1**2 + (n0 - 1) * sd0**2) / (n1 + n0 - 2))
    if s_within == 0:
        raise UserError("pooled standard deviation is zero; a standardised difference is undefined")
    d = (mean1 - mean0) / s_within
    var_d = (n1 + n0) / (n1 * n0) + d**2 / (2 * (n1 + n0))
    j = 1 - 3 / (4 * (n1 + n0 - 2) - 1)
    g, se = j * d, float(np.sqrt(j**2 * var_d))
    z = _z(level)
    return pd.DataFrame([{"measure": "Hedges' g", "estimate": float(g), "se": se, "ci_low": g - z * se,
                          "ci_high": g + z * se, "d": float(d), "j": j, "n_treated": n1, "n_control": n0}])


def hedges_g(treated: Values, control: Values, *,
             level: float = 0.95) -> pd.DataFrame:
    n1, m1, s1 = _summaries(treated, "treated group")
    n0, m0, s0 = _summaries(control, "control group")
    return hedges_g_from_summary(mean1=m1, sd1=s1, n1=n1, mean0=m0, sd0=s0, n0=n0, level=level)


def rate_ratio(events1: float, time1: float, events0: float, time0: float, *,
               level: float = 0.95) -> pd.DataFrame:
    """Incidence rate ratio (group 1 / group 0) with a Wald CI on the log scale."""
    if min(events1, events0) <= 0 or min(time1, time0) <= 0:
        raise UserError("rate ratio needs positive event counts and person-time in both groups")
    rr = (events1 / time1) / (events0 / time0)
    se = float(np.sqrt(1 / events1 + 1 / events0))
    z = _z(level)
    return pd.DataFrame([{"measure": "rate ratio", "estimate": rr, "se": se, "ci_low": rr * np.exp(-z * se),
                          "ci_high": rr * np.exp(z * se)}])


def odds_ratio(a: float, b: float, c: float, d: float, level: float = 0.95) -> pd.DataFrame:
    """Odds ratio (a·d)/(b·c) of a 2×2 table [[a, b], [c, d]].

    Rows: exposed (treated), unexposed; columns: event, no event.
    """
    if min(a, b, c, d) <= 0:
        raise UserError("odds ratio needs all four cells > 0 (add 0.5 to every cell for a zero cell)")
    orr = (a * d) / (b * c)
    se = float(np.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    z = _z(level)
    return pd.DataFrame([{"measure": "odds ratio", "estimate": orr, "se": se,
                          "ci_low": orr * np.exp(-z * se), "ci_high": orr * np.exp(z * se)}])
