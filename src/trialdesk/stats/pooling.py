"""Rubin's rules for results fitted on m imputed data sets, as ``mice::pool`` reports them.

For each term: q̄ (mean estimate), ū (mean within-imputation variance), b (between-imputation variance),
t = ū + (1 + 1/m) b, riv = (1 + 1/m) b / ū, λ = (1 + 1/m) b / t, the Barnard & Rubin (1999)
small-sample degrees of freedom

    ν_old = (m − 1) / λ²,  ν_obs = (ν_com + 1)/(ν_com + 3) · ν_com · (1 − λ),
    ν = ν_old ν_obs / (ν_old + ν_obs)

(ν = ν_old when ν_com is infinite; λ is floored at 1e-4 inside this formula), and the fraction of
missing information fmi = (riv + 2/(ν + 3)) / (riv + 1) (van Buuren, *Flexible Imputation of Missing
Data*, 2nd ed., §2.3.5–2.3.6). statsmodels' MICE pooling has no Barnard–Rubin df or fmi, hence
this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.stats.results import ModelResult, coefficient_table

POOL_COLUMNS: dict[str, str] = {
    "term": "model term",
    "m": "number of imputations",
    "estimate": "pooled estimate q̄ (mean over imputations)",
    "ubar": "mean within-imputation variance ū",
    "b": "between-imputation variance b",
    "t": "total variance t = ū + (1 + 1/m) b",
    "dfcom": "complete-data degrees of freedom",
    "df": "Barnard-Rubin degrees of freedom",
    "riv": "relative increase in variance due to nonresponse",
    "lambda": "proportion of total variance due to missingness",
    "fmi": "fraction of missing information",
}


def barnard_rubin_df(m: int, b: np.ndarray, t: np.ndarray, dfcom: float) -> np.ndarray:
    """Barnard–Rubin adjusted degrees of freedom (mice's ``barnard.rubin``)."""
    lam = np.maximum((1 + 1 / m) * b / t, 1e-4)
    dfold = (m - 1) / lam**2
    if not np.isfinite(dfcom):
        return np.asarray(dfold, dtype=float)
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return np.asarray(dfold * dfobs / (dfold + dfobs), dtype=float)


def pool_estimates(estimates: np.ndarray, variances: np.ndarray, terms: Sequence[str],
                   dfcom: float = np.inf) -> pd.DataFrame:
    """Rubin's rules on an (m × p) array of estimates and of their squared standard errors."""
    q = np.atleast_2d(np.asarray(estimates, dtype=float))
    u = np.atleast_2d(np.asarray(variances, dtype=float))
    if q.shape != u.shape or q.shape[1] != len(terms):
        raise UserError(f"pooling needs estimates and variances of the same shape (m x {len(terms)} terms); "
                        f"got {q.shape} and {u.shape}")
    m = q.shape[0]
    if m < 2:
        raise UserError(f"pooling needs at least 2 imputed data sets, got {m}")
    if not np.all(np.isfinite(q)) or not np.all(np.isfinite(u)):
        raise UserError("some imputed-data fits have missing or infinite estimates or standard errors")
    qbar = q.mean(axis=0)
    ubar = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    df = barnard_rubin_df(m, b, t, dfcom)
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        lam = (1 + 1 / m) * b / t
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    return pd.DataFrame({"term": list(terms), "m": m, "estimate": qbar, "ubar": ubar, "b": b, "t": t,
                         "dfcom": float(dfcom), "df": df, "riv": riv, "lambda": lam, "fmi": fmi})


def pool(results: Sequence[ModelResult], dfcom: float | None = None, level: float = 0.95) -> ModelResult:
    """Pool fits of the same model on m imputed data sets into one result.

    ``dfcom`` defaults, as in mice, to the complete-data residual df, nobs − number of coefficients
    (pass ``float('inf')`` for large-sample inference). ``tables['pooling']`` has mice's columns.
    """
    results = list(results)
    if len(results) < 2:
        raise UserError(f"pooling needs at least 2 fitted results, got {len(results)}")
    terms = list(results[0].coefficients["term"])
    for number, result in enumerate(results[1:], start=2):
        if list(result.coefficients["term"]) != terms:
            raise UserError(f"imputation {number} has terms {list(result.coefficients['term'])}, "
                            f"the first has {terms}: the same model must be fitted on every data set")
    if dfcom is None:
        dfcom = float(results[0].nobs - len(terms))
    estimates = np.vstack([r.coefficients["estimate"].to_numpy(float) for r in results])
    variances = np.vstack([r.coefficients["se"].to_numpy(float) ** 2 for r in results])
    table = pool_estimates(estimates, variances, terms, dfcom)
    coefficients = coefficient_table(terms, table["estimate"].to_numpy(), np.sqrt(table["t"].to_numpy()),
                                     df=table["df"].to_numpy(), level=level)
    messages = sorted({f"imputation fit: {m}" for r in results for m in r.messages})
    converged = all(r.converged for r in results)
    if not converged:
        bad = [i + 1 for i, r in enumerate(results) if not r.converged]
        messages.append(f"the fit did not converge on imputed data set(s) {bad}")
    first = results[0]
    return ModelResult(
        model=first.model, method=f"{first.method}; pooled over m = {len(results)} imputations "
                                  "(Rubin's rules, Barnard-Rubin df)",
        formula=first.formula, nobs=first.nobs, coefficients=coefficients, ngroups=first.ngroups,
        converged=converged, messages=messages, tables={"pooling": table},
        variance_components={k: float(np.mean([r.variance_components.get(k, np.nan) for r in results]))
                             for k in first.variance_components},
        extra={"m": len(results), "dfcom": dfcom},
    )
