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

The m chains of a stratum run side by side (stacked arrays, one batched step for all of them): the
random numbers are drawn first, chain after chain in the order one-at-a-time chains would use them, so a
seed gives the same imputations as running the chains one by one (pmm exactly; norm to rounding of the
batched matrix products, ~1e-12) — and the i-th imputation does not depend on m.
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


_Step = tuple[float, np.ndarray, np.ndarray]  # chi-square, normal vector, donor picks or normal noise
_Draws = tuple[dict[int, np.ndarray], list[_Step]]  # starting values per target, then each step's


@dataclass
class _Plan:
    """One stratum's chained equations: per target its row and column cuts of the design."""

    values: np.ndarray  # rows x variables, NaN = missing
    targets: list[int]
    methods: list[str]
    fixed: np.ndarray
    donors: int

    def __post_init__(self) -> None:
        self.missing = np.isnan(self.values)
        k = self.values.shape[1]
        width = 1 + k + self.fixed.shape[1]
        self.cuts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for j in self.targets:
            columns = np.array([0, *(1 + c for c in range(k) if c != j), *range(1 + k, width)])
            observed, absent = np.flatnonzero(~self.missing[:, j]), np.flatnonzero(self.missing[:, j])
            self.cuts[j] = (observed, absent, columns)

    def draws(self, maxit: int, rng: np.random.Generator) -> _Draws:
        """One chain's random numbers, drawn in the order a step-by-step chain uses them.

        How many numbers each step takes never depends on the data (only on the numbers of rows and
        predictors), so a chain's draws can be made before it runs, and m chains can then run side by
        side with the draws they would have had one after another.
        """
        start: dict[int, np.ndarray] = {}
        for j in self.targets:  # mice's default start: random draws from the observed values
            observed, absent, _ = self.cuts[j]
            start[j] = rng.choice(self.values[observed, j], size=len(absent), replace=True)
        steps: list[_Step] = []
        for _ in range(maxit):
            for j, method in zip(self.targets, self.methods, strict=True):
                observed, absent, columns = self.cuts[j]
                chi = rng.chisquare(max(len(observed) - len(columns), 1))
                z = rng.standard_normal(len(columns))
                if method == "norm":
                    steps.append((chi, z, rng.standard_normal(len(absent))))
                else:
                    steps.append((chi, z, rng.integers(0, min(self.donors, len(observed)), size=len(absent))))
        return start, steps

    def run(self, maxit: int, draws: list[_Draws]) -> np.ndarray:
        """The chains of ``draws`` side by side: (chains, rows, variables) completed values.

        Each step regresses one variable on an intercept, the others and ``fixed`` (Bayesian linear
        model with flat prior, mice's ``.norm.draw`` with its 1e-5 ridge), then draws the missing values
        by predictive mean matching (type 1, ``donors`` nearest) or from the normal model.
        """
        chains = len(draws)
        current = np.repeat(self.values[None], chains, axis=0)
        for j in self.targets:
            current[:, self.cuts[j][1], j] = np.stack([start[j] for start, _ in draws])
        design = np.concatenate(
            [np.ones((*current.shape[:2], 1)), current, np.repeat(self.fixed[None], chains, axis=0)], axis=2
        )
        step = 0
        for _ in range(maxit):
            for j, method in zip(self.targets, self.methods, strict=True):
                observed, absent, columns = self.cuts[j]
                chi = np.array([d[1][step][0] for d in draws])
                z = np.stack([d[1][step][1] for d in draws])
                extra = np.stack([d[1][step][2] for d in draws])
                step += 1
                Xo = design[:, observed[:, None], columns[None, :]]
                Xm = design[:, absent[:, None], columns[None, :]]
                yo = self.values[observed, j]
                xtx = np.matmul(np.swapaxes(Xo, 1, 2), Xo)
                diagonal = np.diagonal(xtx, axis1=1, axis2=2)
                v = np.linalg.inv(xtx + diagonal[:, :, None] * 1e-5 * np.eye(len(columns)))
                coef = np.matmul(v, np.matmul(np.swapaxes(Xo, 1, 2), yo[None, :, None]))[..., 0]
                fitted = np.matmul(Xo, coef[..., None])[..., 0]
                residuals = yo[None] - fitted
                sigma = np.sqrt(np.einsum("ci,ci->c", residuals, residuals) / chi)
                chol = np.linalg.cholesky((v + np.swapaxes(v, 1, 2)) / 2)
                beta = coef + np.matmul(chol, z[..., None])[..., 0] * sigma[:, None]
                predicted = np.matmul(Xm, beta[..., None])[..., 0]
                if method == "norm":
                    drawn = predicted + extra * sigma[:, None]
                else:
                    k = min(self.donors, len(observed))
                    distance = np.abs(predicted[:, :, None] - fitted[:, None, :])
                    nearest = np.argpartition(distance, k - 1, axis=2)[:, :, :k]
                    pick = np.take_along_axis(nearest, extra[:, :, None], axis=2)[:, :, 0]
                    drawn = yo[pick]
                current[:, absent, j] = drawn
                design[:, absent, 1 + j] = drawn
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
    plans: list[_Plan | None] = []
    for rows in strata:
        values = values_all[rows]
        targets = [j for j in targets_all if np.isnan(values[:, j]).any()]
        fixed = fixed_all[rows]
        fixed = fixed[:, np.ptp(fixed, axis=0) > 0] if fixed.size else fixed  # drop constant dummies
        plans.append(_Plan(values, targets, [methods[columns[j]] for j in targets], fixed, donors)
                     if targets else None)
    # The draws in the order of m chains run one after another, stratum by stratum (the seed's contract),
    # then each stratum's m chains run together.
    draws: list[list[_Draws]] = [[] for _ in strata]
    for _ in range(m):
        for number, plan in enumerate(plans):
            if plan is not None:
                draws[number].append(plan.draws(maxit, generator))
    for rows, plan, chains in zip(strata, plans, draws, strict=True):
        if plan is not None:
            completed[:, rows] = plan.run(maxit, chains)
    missing = {columns[j]: np.flatnonzero(np.isnan(values_all[:, j])) for j in targets_all}
    imputed = {columns[j]: completed[:, missing[columns[j]], j] for j in targets_all}
    return Imputation(data=data.copy(), m=m, imputed=imputed, missing=missing,
                      method={c: methods[c] for c in columns}, by=by, maxit=maxit, seed=seed,
                      predictors=predictors)
