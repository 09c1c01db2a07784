"""Linear models and ANCOVA: the outcome at one visit on arm, baseline and stratification factors.

statsmodels does the fitting; this module adds the formula checks of :mod:`trialdesk.stats.formula`,
robust (HC3) standard errors on request, and the shared result object. Information criteria follow
R's ``logLik.lm`` convention (the residual variance counts as a parameter).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from trialdesk.errors import UserError
from trialdesk.stats.formula import build_design
from trialdesk.stats.results import ModelResult, coefficient_table


def fit_ols(data: pd.DataFrame, formula: str, *, se: Literal["classical", "HC3"] = "classical",
            level: float = 0.95) -> ModelResult:
    """Ordinary least squares; ``se="HC3"`` gives heteroscedasticity-consistent SEs (MacKinnon–White).

    Tests use the t distribution on the residual degrees of freedom in both cases, as R's ``summary.lm``
    and ``lmtest::coeftest(fit, vcovHC(fit, "HC3"))`` do.
    """
    kind = se.upper() if se.lower() == "hc3" else se.lower()
    if kind not in {"classical", "HC3"}:
        raise UserError(f"standard errors must be classical or HC3, not {se!r}")
    design = build_design(formula, data)
    n, p = design.X.shape
    if n - p < 1:
        raise UserError(f"{p} coefficients need more than {n} complete rows")
    fit = sm.OLS(design.y, design.X).fit(cov_type="nonrobust" if kind == "classical" else "HC3")
    table = coefficient_table(design.terms, fit.params, np.asarray(fit.bse), float(fit.df_resid), level=level)
    loglik = float(fit.llf)
    k = p + 1
    return ModelResult(
        model="ols", method="OLS", formula=formula, nobs=n, coefficients=table, loglik=loglik,
        aic=-2 * loglik + 2 * k, bic=-2 * loglik + k * np.log(n),
        variance_components={"Residual": float(fit.scale)},
        extra={"se_type": kind, "sigma": float(np.sqrt(fit.scale)), "r_squared": float(fit.rsquared),
               "df_residual": float(fit.df_resid)},
    )
