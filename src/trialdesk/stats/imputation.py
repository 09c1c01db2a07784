"""Multiple imputation by chained equations, as R's mice does it, imputed separately by arm.

Each of the m imputations is its own chain: missing values start as random draws from the observed
values of their variable, then for ``maxit`` rounds every incomplete variable is imputed in turn from a
regression on all the other variables (their current values). Two methods, after van Buuren,
*Flexible Imputation of Missing Data* (2nd ed.), §3.2 and §3.4 (mice's ``norm`` and ``pmm``):

* ``norm`` — Bayesian linear regression (Rubin 1987, algorithm 3.1): draw σ*² = RSS / χ²(n_obs − p),
  β* ~ N(β̂, σ*² (X'X)⁻¹), impute X_mis β* + N(0, σ*²).
* ``pmm`` — predictive mean matching (type-1 matching): with β̂ and a draw β* as above, for each missing
  row take the ``donors`` observed rows whose X β̂ is closest to its X β*, and copy the observed value of
  one of them at random. Imputations stay within the observed values (whole scale points, bounds).

Imputing within arm keeps arm-by-covariate interactions (the usual recommendation for trials, e.g.
Sullivan et al., Stat Methods Med Res 2018). statsmodels' MICE has no by-group imputation and no
seedable numpy Generator; the algorithm is short, so it is written here. The seed and
:data:`ALGORITHM_VERSION` are stored with the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.stats.pooling import pool
from trialdesk.stats.results import ModelResult

#: Bump when the draws for a given seed would change.
ALGORITHM_VERSION = "trialdesk-mice/1 (pmm type-1, donors=5; norm Bayesian; init: random observed draw)"
METHODS = ("pmm", "norm")


@dataclass
class Imputation:
    """m completed versions of ``data``; only the imputed cells are stored."""

    data: pd.DataFrame
    m: int
    imputed: dict[str, np.ndarray]  # variable -> (m, number missing) imputed values
    missing: dict[str, np.ndarray]  # variable -> row positions that were missing
    method: dict[str, str]
    by: str | None
    maxit: int
    seed: int | None
    algorithm_version: str = ALGORITHM_VERSION
    predictors: list[str] = field(default_factory=list)

    def complete(self, i: int) -> pd.DataFrame:
        """The i-th completed data set (0-based)."""
        if not 0 <= i < self.m:
            raise UserError(f"imputation number {i} is outside 0..{self.m - 1}")
        out = self.data.copy()
        for var, rows in self.missing.items():
            column = out[var].astype(float).to_numpy(copy=True)
            column[rows] = self.imputed[var][i]
            out[var] = column
        return out

    def values(self, i: int, column: str) -> np.ndarray:
        """One column of the i-th completed data set as floats, in row order (no frame is copied)."""
        if not 0 <= i < self.m:
            raise UserError(f"imputation number {i} is outside 0..{self.m - 1}")
        out = self.data[column].astype(float).to_numpy(copy=True)
        if column in self.missing:
            out[self.missing[column]] = self.imputed[column][i]
        return out

    def completed(self) -> Iterator[pd.DataFrame]:
        for i in range(self.m):
            yield self.complete(i)

    def fit(self, fit: Callable[[pd.DataFrame], ModelResult]) -> list[ModelResult]:
        """Fit the analysis model on each completed data set."""
        return [fit(frame) for frame in self.completed()]

    def analyse(self, fit: Callable[[pd.DataFrame], ModelResult], dfcom: float | None = None,
                level: float = 0.95) -> ModelResult:
        """Fit on each completed data set and pool by Rubin's rules; provenance in ``extra``."""
        pooled = pool(self.fit(fit), dfcom=dfcom, level=level)
        pooled.extra.update(self.provenance())
        return pooled

    def provenance(self) -> dict[str, Any]:
        return {"imputation": {"m": self.m, "seed": self.seed, "maxit": self.maxit, "by": self.by,
                               "method": dict(self.method), "predictors": list(self.predictors),
                               "algorithm_version": self.algorithm_version,
                               "n_missing": {k: len(v) for k, v in self.missing.items()}}}


def _posterior_draw(X: np.ndarray, y: np.ndarray, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """β̂, one draw β* of the Bayesian linear model (flat prior), as mice's ``.norm.draw``, and X β̂."""
    n, p = X.shape
    xtx = X.T @ X
    # mice's small ridge keeps nearly collinear predictors from failing (ridge = 1e-5 on the diagonal).
    v = np.linalg.inv(xtx + np.diag(1e-5 * np.diag(xtx)))
    coef = v @ (X.T @ y)
    fitted = X @ coef
    residuals = y - fitted
    df = max(n - p, 1)
    sigma_star = np.sqrt(float(residuals @ residuals) / rng.chisquare(df))
    chol = np.linalg.cholesky((v + v.T) / 2)
    beta_star = coef + chol @ rng.standard_normal(p) * sigma_star
    return coef, np.concatenate([beta_star, [sigma_star]]), fitted


def _impute_one(Xo: np.ndarray, yo: np.ndarray, Xm: np.ndarray, method: str, *, donors: int,
                rng: np.random.Generator) -> np.ndarray:
    """Draws for the missing rows (design ``Xm``) from the observed rows (``Xo``, ``yo``)."""
    _coef, draw, yhat_obs = _posterior_draw(Xo, yo, rng)
    beta_star, sigma_star = draw[:-1], draw[-1]
    if method == "norm":
        return Xm @ beta_star + rng.standard_normal(len(Xm)) * sigma_star
    yhat_mis = Xm @ beta_star
    k = min(donors, len(yo))
    distance = np.abs(yhat_mis[:, None] - yhat_obs[None, :])
    nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
    pick = nearest[np.arange(len(Xm)), rng.integers(0, k, size=len(Xm))]
    return yo[pick]


def _chain(values: np.ndarray, targets: list[int], methods: list[str], *, fixed: np.ndarray, maxit: int,
           donors: int, rng: np.random.Generator) -> np.ndarray:
    """One chain on one stratum: ``values`` (rows × variables, NaN = missing); returns completed values.

    Each step regresses one variable on an intercept, the others and ``fixed``. The design of every
    step is cut from one array, [1 | current values | fixed], kept up to date as values are drawn, with
    each target's rows and columns worked out once (the draws are those of building it step by step).
    """
    missing = np.isnan(values)
    current = values.copy()
    for j in targets:  # mice's default start: random draws from the observed values
        obs = values[~missing[:, j], j]
        current[missing[:, j], j] = rng.choice(obs, size=int(missing[:, j].sum()), replace=True)
    k = values.shape[1]
    design = np.hstack([np.ones((len(values), 1)), current, fixed])
    cuts = {}
    for j in targets:
        columns = np.array([0, *(1 + c for c in range(k) if c != j), *range(1 + k, design.shape[1])])
        observed, absent = np.flatnonzero(~missing[:, j]), np.flatnonzero(missing[:, j])
        cuts[j] = (np.ix_(observed, columns), np.ix_(absent, columns), current[observed, j], absent)
    for _ in range(maxit):
        for j, method in zip(targets, methods, strict=True):
            rows_observed, rows_missing, yo, absent = cuts[j]
            drawn = _impute_one(design[rows_observed], yo, design[rows_missing], method, donors=donors,
                                rng=rng)
            current[absent, j] = drawn
            design[absent, 1 + j] = drawn
    return current


def impute(data: pd.DataFrame, columns: list[str], predictors: list[str] | None = None, *,
           method: str | dict[str, str] = "pmm", m: int = 5, maxit: int = 10, by: str | None = "arm",
           seed: int | None = None, rng: np.random.Generator | None = None, donors: int = 5) -> Imputation:
    """Impute the numeric ``columns`` (each from all the others and ``predictors``), within levels of ``by``.

    ``predictors`` are complete covariates (numeric or categorical; categorical ones are dummy coded).
    Give ``seed`` (stored) or a ``numpy.random.Generator`` as ``rng``.
    """
    if not isinstance(m, int) or m < 1:
        raise UserError(f"m (number of imputations) must be a whole number >= 1, got {m!r}")
    if not isinstance(maxit, int) or maxit < 1:
        raise UserError(f"maxit must be a whole number >= 1, got {maxit!r}")
    predictors = list(predictors or [])
    needed = list(columns) + predictors + ([by] if by else [])
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise UserError(f"column(s) {absent} not in the data; columns are {list(data.columns)}")
    methods = dict.fromkeys(columns, method) if isinstance(method, str) else dict(method)
    for c in columns:
        if methods.get(c) not in METHODS:
            raise UserError(f"imputation method for {c!r} must be one of {METHODS}, got {methods.get(c)!r}")
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise UserError(f"column {c!r} is not numeric; only numeric variables can be imputed")
    for c in predictors:
        if data[c].isna().any():
            raise UserError(f"predictor {c!r} has missing values: list it among the columns to impute")
    if by and data[by].isna().any():
        raise UserError(f"column {by!r} (imputation strata) has missing values")
    generator = rng if rng is not None else np.random.default_rng(seed)
    fixed_all = (pd.get_dummies(data[predictors], drop_first=True, dtype=float).to_numpy(float)
                 if predictors else np.empty((len(data), 0)))
    values_all = data[list(columns)].to_numpy(float)
    strata = [np.arange(len(data))] if not by else [np.flatnonzero((data[by] == level).to_numpy())
                                                    for level in sorted(data[by].unique(), key=str)]
    targets_all = [j for j, c in enumerate(columns) if np.isnan(values_all[:, j]).any()]
    for rows in strata:
        for j in targets_all:
            n_obs = int((~np.isnan(values_all[rows, j])).sum())
            if n_obs < 2:
                where = f" in {by} = {data[by].iloc[rows[0]]!r}" if by else ""
                raise UserError(f"column {columns[j]!r} has {n_obs} observed value(s){where}; "
                                "imputation needs at least 2")
    completed = np.repeat(values_all[None, :, :], m, axis=0)
    for i in range(m):
        for rows in strata:
            values = values_all[rows]
            targets = [j for j in targets_all if np.isnan(values[:, j]).any()]
            if not targets:
                continue
            fixed = fixed_all[rows]
            fixed = fixed[:, np.ptp(fixed, axis=0) > 0] if fixed.size else fixed  # drop constant dummies
            completed[i][rows] = _chain(values, targets, [methods[columns[j]] for j in targets], fixed=fixed,
                                        maxit=maxit, donors=donors, rng=generator)
    missing = {columns[j]: np.flatnonzero(np.isnan(values_all[:, j])) for j in targets_all}
    imputed = {columns[j]: completed[:, missing[columns[j]], j] for j in targets_all}
    return Imputation(data=data.copy(), m=m, imputed=imputed, missing=missing,
                      method={c: methods[c] for c in columns}, by=by, maxit=maxit, seed=seed,
                      predictors=predictors)
