"""Agreement between raters: intraclass correlations and weighted kappa (used for fidelity ratings).

ICC(2,1) (two-way random, absolute agreement, single rater) and ICC(3,1) (two-way mixed, consistency)
from the two-way ANOVA mean squares, with the confidence limits of McGraw & Wong (1996, Psychol Methods
1:30–46, Table 7; ICC(2,1) with Satterthwaite's df) as psych::ICC reports them (Shrout & Fleiss 1979).
statsmodels has no ICC, hence the formulas here. Weighted kappa (Cohen 1968) with linear or quadratic
agreement weights and the large-sample variance of Fleiss, Cohen & Everitt (1969) is statsmodels'
``cohens_kappa``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.inter_rater import cohens_kappa

from trialdesk.errors import UserError


def _ratings(ratings: pd.DataFrame | np.ndarray) -> np.ndarray:
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise UserError("ICC needs a table of at least 2 targets (rows) x 2 raters (columns)")
    if np.isnan(x).any():
        raise UserError("ICC needs complete ratings: every target rated by every rater")
    return x


def icc(ratings: pd.DataFrame | np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """ICC(2,1) and ICC(3,1) of a targets × raters table, with F test and confidence limits."""
    x = _ratings(ratings)
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_err = np.sum((x - grand) ** 2) - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))
    if mse == 0:
        raise UserError("ICC is undefined: the ratings have no residual variation")
    alpha = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    f_rows = msr / mse
    p = float(sps.f.sf(f_rows, df1, df2))

    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    fl = f_rows / sps.f.ppf(1 - alpha / 2, df1, df2)
    fu = f_rows * sps.f.ppf(1 - alpha / 2, df2, df1)
    icc3_low, icc3_high = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)

    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    fj = msc / mse
    v_num = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v_den = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = v_num / v_den
    f_up, f_low = sps.f.ppf(1 - alpha / 2, n - 1, v), sps.f.ppf(1 - alpha / 2, v, n - 1)
    icc2_low = n * (msr - f_up * mse) / (f_up * (k * msc + (k * n - k - n) * mse) + n * msr)
    icc2_high = n * (f_low * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_low * msr)
    return pd.DataFrame([
        {"type": "ICC(2,1)", "description": "two-way random, absolute agreement, single rater",
         "estimate": icc2, "F": f_rows, "df1": df1, "df2": df2, "p": p, "ci_low": icc2_low,
         "ci_high": icc2_high},
        {"type": "ICC(3,1)", "description": "two-way mixed, consistency, single rater",
         "estimate": icc3, "F": f_rows, "df1": df1, "df2": df2, "p": p, "ci_low": icc3_low,
         "ci_high": icc3_high},
    ]).assign(targets=n, raters=k)


def weighted_kappa(table: pd.DataFrame | np.ndarray, weights: str = "linear", level: float = 0.95
                   ) -> pd.DataFrame:
    """Weighted kappa of a k × k table of counts (rater 1 rows, rater 2 columns, ordered categories).

    ``weights``: ``linear`` (1 − |i − j|/(k − 1)), ``quadratic`` (1 − (i − j)²/(k − 1)²) or ``none``.
    """
    x = np.asarray(table, dtype=float)
    if x.ndim != 2 or x.shape[0] != x.shape[1] or x.shape[0] < 2 or np.any(x < 0):
        raise UserError("kappa needs a square table (k x k, k >= 2) of non-negative counts")
    if weights not in ("linear", "quadratic", "none"):
        raise UserError(f"kappa weights must be linear, quadratic or none, got {weights!r}")
    res = cohens_kappa(x, wt=None if weights == "none" else weights)
    z = float(sps.norm.ppf(0.5 + level / 2))
    kappa, se = float(res.kappa), float(res.std_kappa)
    return pd.DataFrame([{"weights": weights, "estimate": kappa, "se": se,
                          "se_null": float(res.std_kappa0), "ci_low": kappa - z * se,
                          "ci_high": kappa + z * se, "z": float(res.z_value),
                          "p": float(res.pvalue_two_sided), "n": int(x.sum())}])


def kappa_table(rater1: pd.Series, rater2: pd.Series, categories: list[object]) -> np.ndarray:
    """Cross-tabulate two raters' ordered ratings into a k × k table over ``categories``."""
    both = pd.DataFrame({"a": rater1, "b": rater2}).dropna()
    unknown = (set(both["a"]) | set(both["b"])) - set(categories)
    if unknown:
        raise UserError(f"ratings {sorted(map(str, unknown))} are not among the categories {categories}")
    index = {c: i for i, c in enumerate(categories)}
    out = np.zeros((len(categories), len(categories)))
    for a, b in zip(both["a"], both["b"], strict=True):
        out[index[a], index[b]] += 1
    return out
