"""Generalised linear models: logistic, Poisson with an offset, negative binomial.

statsmodels does the IRLS fits. The negative binomial θ is estimated the way MASS::glm.nb does it
(Venables & Ripley, *Modern Applied Statistics with S*, 4th ed., §7.4): alternate an IRLS fit with θ
fixed and a Newton–Raphson maximum-likelihood step for θ given the fitted means, until the
log-likelihood and θ settle; coefficient standard errors are then those of the final fit with θ held
fixed (dispersion 1), which is what ``summary(glm.nb(...))`` prints. statsmodels' own
``NegativeBinomial`` count model estimates θ jointly and reports unconditional SEs, so the loop is
written here.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from scipy import special

from trialdesk.errors import UserError
from trialdesk.stats.results import ModelResult, coefficient_table

_FUNCTIONS: dict[str, Any] = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt, "np": np,
                              "cbind": lambda *cols: np.column_stack(cols)}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_STRINGS = re.compile(r"'[^']*'|\"[^\"]*\"")
_FAMILIES = {"poisson": "poisson", "binomial": "binomial", "logistic": "binomial", "logit": "binomial",
             "gaussian": "gaussian", "normal": "gaussian"}


@dataclass
class Design:
    """Outcome, design matrix and the rows kept (complete cases of the variables used)."""

    y: np.ndarray
    trials: np.ndarray | None  # binomial totals when the outcome is cbind(successes, failures)
    X: np.ndarray
    terms: list[str]
    index: pd.Index
    outcome: str


def _env() -> patsy.EvalEnvironment:
    return patsy.EvalEnvironment([_FUNCTIONS])


def check_columns(data: pd.DataFrame, formula: str, extra: list[str] | None = None) -> None:
    """Raise a UserError naming any variable of the formula that is not a column of ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise UserError("data must be a table (pandas DataFrame)")
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as problem:
        raise UserError(f"formula {formula!r} does not parse: {problem.message}") from None
    codes = [factor.code for term in desc.lhs_termlist + desc.rhs_termlist for factor in term.factors]
    known = set(_FUNCTIONS) | {"C", "I", "Treatment", "Sum", "Poly", "Diff", "Helmert", "center",
                               "standardize", "scale", "Q", "levels", "reference", "True", "False", "None"}
    for code in codes + list(extra or []):
        for name in _IDENT.findall(_STRINGS.sub("", code)):
            if name not in data.columns and name.split(".")[0] not in known and name not in known:
                raise UserError(f"column {name!r} (in {code!r}) is not in the data; "
                                f"columns are {', '.join(map(str, data.columns))}")


def build_design(data: pd.DataFrame, formula: str) -> Design:
    """Patsy design with complete-case rows; term names as patsy writes them (``treatment[T.IMR]``)."""
    check_columns(data, formula)
    if "~" not in formula:
        raise UserError(f"formula {formula!r} has no outcome: write it as 'outcome ~ terms'")
    lhs = formula.split("~", 1)[0].strip()
    if _IDENT.fullmatch(lhs) and lhs in data.columns:
        column = data[lhs]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            raise UserError(f"outcome {lhs!r} is not numeric (dtype {column.dtype})")
    try:
        y_frame, x_frame = patsy.dmatrices(formula, data, eval_env=_env(), return_type="dataframe",
                                           NA_action="drop")
    except patsy.PatsyError as problem:
        raise UserError(f"formula {formula!r} cannot be evaluated on the data: {problem.message}") from None
    if y_frame.shape[1] == 2:
        successes = y_frame.iloc[:, 0].to_numpy(float)
        trials = successes + y_frame.iloc[:, 1].to_numpy(float)
        y, totals = successes, trials
    elif y_frame.shape[1] == 1:
        y, totals = y_frame.iloc[:, 0].to_numpy(float), None
    else:
        raise UserError(f"outcome {lhs!r} is not numeric (it expands to {y_frame.shape[1]} columns)")
    if len(y) == 0:
        raise UserError(f"no complete rows for formula {formula!r}")
    X = x_frame.to_numpy(float)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise UserError(f"the design of {formula!r} is singular (some terms are collinear or a factor "
                        f"has a level with no rows): terms {list(x_frame.columns)}")
    return Design(y=y, trials=totals, X=X, terms=list(x_frame.columns), index=y_frame.index, outcome=lhs)


def offset_values(data: pd.DataFrame, offset: str | np.ndarray | pd.Series | None,
                  index: pd.Index) -> np.ndarray | None:
    """An offset on the link scale: a column name, an expression such as ``log(months)``, or values."""
    if offset is None:
        return None
    if isinstance(offset, str):
        check_columns(data, f"~ {offset}")
        try:
            values = patsy.dmatrix(f"0 + I({offset})", data, eval_env=_env(), NA_action="raise",
                                   return_type="dataframe").iloc[:, 0]
        except patsy.PatsyError as problem:
            raise UserError(f"offset {offset!r} cannot be evaluated: {problem.message}") from None
        out = values.loc[index].to_numpy(float)
    else:
        series = pd.Series(np.asarray(offset, dtype=float), index=data.index)
        out = series.loc[index].to_numpy(float)
    if not np.all(np.isfinite(out)):
        raise UserError(f"offset {offset if isinstance(offset, str) else '(values)'} has missing or "
                        "infinite values (log of zero follow-up time?)")
    return out


def _check_outcome(design: Design, family: str) -> None:
    y = design.y
    if family in ("poisson", "negative binomial"):
        if np.any(y < 0):
            raise UserError(f"outcome {design.outcome!r} has negative counts; {family} needs counts >= 0")
        if np.any(y != np.round(y)):
            raise UserError(f"outcome {design.outcome!r} has non-integer values; {family} needs counts")
    elif family == "binomial":
        if design.trials is None:
            if not np.all(np.isin(y, (0.0, 1.0))):
                raise UserError(f"outcome {design.outcome!r} must be 0/1 for logistic regression; "
                                f"values seen: {sorted(set(np.unique(y).tolist()))[:6]}")
        elif np.any(y < 0) or np.any(design.trials < y):
            raise UserError(f"outcome {design.outcome!r}: successes must lie between 0 and the total")
    if np.ptp(y) == 0 and design.trials is None:
        raise UserError(f"outcome {design.outcome!r} is constant ({y[0]:g}); nothing to model")


def _sm_family(family: str, theta: float | None = None) -> sm.families.Family:
    if family == "poisson":
        return sm.families.Poisson()
    if family == "binomial":
        return sm.families.Binomial()
    if family == "gaussian":
        return sm.families.Gaussian()
    assert theta is not None
    return sm.families.NegativeBinomial(alpha=1.0 / theta)


def _irls(design: Design, family: str, offset: np.ndarray | None, theta: float | None = None,
          start: np.ndarray | None = None, *, reported: bool = True) -> tuple[Any, list[str]]:
    """One statsmodels IRLS fit; warnings (separation, non-convergence) become messages.

    ``reported=False`` (the negative binomial's inner fits, whose deviances nobody reads) skips the
    null deviance, which statsmodels gets by fitting the intercept-only model: a second IRLS per call.
    """
    y = design.y if design.trials is None else design.y / design.trials
    weights = None if design.trials is None else design.trials
    model = sm.GLM(y, design.X, family=_sm_family(family, theta), offset=offset, var_weights=weights)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        fit = model.fit(start_params=start, maxiter=100, tol=1e-10)
        # statsmodels computes these lazily; evaluate them here so overflow under separation is caught
        _ = (fit.llf, fit.bse, fit.deviance, fit.fittedvalues)
        if reported:
            _ = fit.null_deviance
    messages = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
    if any(issubclass(w.category, RuntimeWarning) for w in caught) or not np.all(np.isfinite(fit.bse)):
        messages.append("numerical overflow in the fit: fitted values at the boundary (perfect separation "
                        "or a zero-count level?)")
    return fit, messages


def _exponentiated(table: pd.DataFrame, label: str) -> pd.DataFrame:
    out = table[["term"]].copy()
    with np.errstate(over="ignore"):  # inf for a separated fit, which is flagged not converged
        out[label] = np.exp(table["estimate"].to_numpy(float))
        out["ci_low"] = np.exp(table["ci_low"].to_numpy(float))
        out["ci_high"] = np.exp(table["ci_high"].to_numpy(float))
    return out


def fit_glm(data: pd.DataFrame, formula: str, family: str = "poisson",
            offset: str | np.ndarray | pd.Series | None = None, *, level: float = 0.95) -> ModelResult:
    """Logistic, Poisson (optionally with an offset such as ``log(months)``) or Gaussian GLM.

    Wald z tests for Poisson and logistic (as ``summary.glm`` prints them), t tests with the
    residual df for Gaussian. ``tables["rate_ratios"]`` / ``tables["odds_ratios"]`` hold exp(β) with CIs.
    For binomial totals write the outcome as ``cbind(successes, failures)``.
    """
    fam = _FAMILIES.get(str(family).lower())
    if fam is None:
        raise UserError(f"family {family!r} is not one of {', '.join(sorted(_FAMILIES))}")
    design = build_design(data, formula)
    _check_outcome(design, fam)
    off = offset_values(data, offset, design.index)
    fit, messages = _irls(design, fam, off)
    converged = bool(fit.converged) and not any("separation" in m.lower() for m in messages)
    converged = converged and bool(np.all(np.isfinite(fit.bse)))
    if not fit.converged:
        messages.append("IRLS did not converge in 100 iterations")
    n, k = len(design.y), design.X.shape[1]
    df = float(fit.df_resid) if fam == "gaussian" else None
    table = coefficient_table(design.terms, fit.params, fit.bse, df=df, level=level)
    loglik = float(fit.llf)
    npar = k + (1 if fam == "gaussian" else 0)
    tables: dict[str, pd.DataFrame] = {}
    if fam == "poisson":
        tables["rate_ratios"] = _exponentiated(table, "rate_ratio")
    elif fam == "binomial":
        tables["odds_ratios"] = _exponentiated(table, "odds_ratio")
    link = {"poisson": "log", "binomial": "logit", "gaussian": "identity"}[fam]
    return ModelResult(
        model="glm", method=f"IRLS ({fam}, {link} link)", formula=formula, nobs=n, coefficients=table,
        loglik=loglik, aic=-2 * loglik + 2 * npar, bic=-2 * loglik + np.log(n) * npar,
        converged=converged, messages=messages, tables=tables,
        extra={"family": fam, "deviance": float(fit.deviance), "null_deviance": float(fit.null_deviance),
               "df_residual": float(fit.df_resid), "dispersion": float(fit.scale),
               "offset": offset if isinstance(offset, str) else (None if offset is None else "values")},
    )


# --- negative binomial: θ by maximum likelihood, as MASS::theta.ml and MASS::glm.nb ------------------

def nb_loglik(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    """Negative binomial log-likelihood (variance μ + μ²/θ)."""
    return float(np.sum(special.gammaln(theta + y) - special.gammaln(theta) - special.gammaln(y + 1)
                        + theta * np.log(theta) + special.xlogy(y, mu) - (theta + y) * np.log(theta + mu)))


def theta_ml(y: np.ndarray, mu: np.ndarray, limit: int = 25) -> tuple[float, float, bool]:
    """ML θ given the means by Newton–Raphson with expected information; returns (θ, SE, converged).

    Start at the moment estimate n / Σ(y/μ − 1)² and stop when the step is below ε^(1/4), as
    MASS::theta.ml does, so that the θ printed by R is reproduced.
    """
    n = len(y)

    def score(th: float) -> float:
        return float(np.sum(special.digamma(th + y) - special.digamma(th) + np.log(th) + 1
                            - np.log(th + mu) - (y + th) / (mu + th)))

    def info(th: float) -> float:
        return float(np.sum(-special.polygamma(1, th + y) + special.polygamma(1, th) - 1 / th
                            + 2 / (mu + th) - (y + th) / (mu + th) ** 2))

    th = n / float(np.sum((y / mu - 1) ** 2))
    eps = np.finfo(float).eps ** 0.25
    step, it = 1.0, 0
    while it < limit and abs(step) > eps:
        it += 1
        th = abs(th)
        step = score(th) / info(th)
        th += step
    converged = abs(step) <= eps and th > 0 and np.isfinite(th)
    return th, float(np.sqrt(1 / info(th))) if th > 0 else float("nan"), bool(converged)


def fit_nb(data: pd.DataFrame, formula: str, offset: str | np.ndarray | pd.Series | None = None, *,
           level: float = 0.95, maxit: int = 25, epsilon: float = 1e-8) -> ModelResult:
    """Negative binomial GLM (log link) with θ by ML, as MASS::glm.nb; SEs conditional on θ."""
    design = build_design(data, formula)
    _check_outcome(design, "negative binomial")
    off = offset_values(data, offset, design.index)
    y = design.y
    fit, messages = _irls(design, "poisson", off, reported=False)
    mu = np.asarray(fit.fittedvalues, float)
    theta, _, theta_ok = theta_ml(y, mu, limit=maxit)
    d1 = np.sqrt(2 * max(1.0, float(fit.df_resid)))
    loglik = nb_loglik(y, mu, theta)
    previous, step, it = loglik + 2 * d1, 1.0, 0
    while it < maxit and (abs(previous - loglik) / d1 + abs(step)) > epsilon:
        it += 1
        fit, more = _irls(design, "negative binomial", off, theta=theta, start=np.asarray(fit.params),
                          reported=False)
        messages += more
        old = theta
        theta, _, theta_ok = theta_ml(y, mu, limit=maxit)
        mu = np.asarray(fit.fittedvalues, float)
        step = old - theta
        previous, loglik = loglik, nb_loglik(y, mu, theta)
    # The reported fit: θ fixed at its final value, dispersion 1 (summary.negbin).
    fit, more = _irls(design, "negative binomial", off, theta=theta, start=np.asarray(fit.params))
    messages += more
    mu = np.asarray(fit.fittedvalues, float)
    _theta_at_mu, theta_se, theta_ok2 = theta_ml(y, mu, limit=maxit)
    loglik = nb_loglik(y, mu, theta)
    converged = bool(fit.converged) and theta_ok and theta_ok2 and it < maxit
    if not converged:
        messages.append(f"negative binomial alternation did not converge (iterations {it}, θ {theta:.6g}); "
                        "θ may be infinite (no overdispersion: use Poisson)")
    n, k = len(y), design.X.shape[1]
    table = coefficient_table(design.terms, fit.params, fit.bse, df=None, level=level)
    return ModelResult(
        model="nb", method="ML θ, IRLS given θ (MASS::glm.nb)", formula=formula, nobs=n,
        coefficients=table, loglik=loglik, aic=-2 * loglik + 2 * (k + 1),
        bic=-2 * loglik + np.log(n) * (k + 1), theta=float(theta), converged=converged,
        messages=messages, tables={"rate_ratios": _exponentiated(table, "rate_ratio")},
        extra={"theta_se": theta_se, "deviance": float(fit.deviance),
               "null_deviance": float(fit.null_deviance),
               "df_residual": float(fit.df_resid), "iterations": it, "two_loglik": 2 * loglik,
               "offset": offset if isinstance(offset, str) else (None if offset is None else "values")},
    )
