"""The same model fitted on many imputed data sets, building its design matrix once.

Imputation changes only the values of the outcome and the baseline covariate, never which rows there
are or the arm, site and diagnosis columns; rebuilding the patsy design for each of m = 50 data sets
took more time than the fits themselves. :class:`PnmDesign` builds it on the first data set, then puts
each data set's ``y`` and ``y0`` into copies and runs the partially nested REML fit of
:mod:`trialdesk.stats.pnm` (same covariance class, same start values, so the same estimates as
:func:`~trialdesk.stats.fit_pnm`, which a test checks). :class:`OlsDesign` does the same for the
ANCOVA of the supportive MI rows (classical OLS, as :func:`~trialdesk.stats.fit_ols`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialdesk.stats.formula import build_design, reference_grid
from trialdesk.stats.pnm import _PartiallyNested
from trialdesk.stats.reml import GaussianBlocks, fit_blocks, make_blocks


@dataclass(frozen=True)
class Fit:
    terms: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    nobs: int
    converged: bool
    means: dict[str, tuple[float, float]]  # arm -> (mean, variance)

    def coef(self, term: str) -> tuple[float, float]:
        """Estimate and variance of one coefficient."""
        j = self.terms.index(term)
        return float(self.beta[j]), float(self.vcov[j, j])


class _Design:
    def __init__(self, data: pd.DataFrame, formula: str, arm: str, extra: list[str]) -> None:
        design = build_design(formula, data, extra=[arm, *extra])
        self.formula, self.arm, self.terms = formula, arm, list(design.terms)
        self.index = design.frame.index
        self.X = design.X
        self.y0 = self.terms.index("y0") if "y0" in self.terms else None
        labels, self.L = reference_grid(design, [arm])
        self.arms = [str(a) for a in labels[arm]]
        self.frame = design.frame

    def matrices(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """y, X and the arm-mean rows L for ``data`` (same rows as the first data set)."""
        y = data.loc[self.index, "y"].to_numpy(float)
        X, L = self.X, self.L
        if self.y0 is not None:
            x0 = data.loc[self.index, "y0"].to_numpy(float)
            X, L = X.copy(), L.copy()
            X[:, self.y0] = x0
            L[:, self.y0] = x0.mean()
        if np.isnan(y).any() or np.isnan(X).any():
            raise ValueError("a data set passed to a prebuilt design has missing values")
        return y, X, L

    def _means(self, beta: np.ndarray, vcov: np.ndarray, L: np.ndarray) -> dict[str, tuple[float, float]]:
        estimate, variance = L @ beta, np.einsum("ip,pq,iq->i", L, vcov, L)
        return {a: (float(e), float(v)) for a, e, v in zip(self.arms, estimate, variance, strict=True)}


class PnmDesign(_Design):
    def __init__(self, data: pd.DataFrame, formula: str, *, arm: str, group: str, treated: str) -> None:
        super().__init__(data, formula, arm, [])
        self.psi: np.ndarray | None = None
        self.d = (self.frame[arm].astype(str) == treated).to_numpy(float)
        groups = data.loc[self.index, group].astype(str)
        marker = np.where(self.d == 1, "g:" + groups, "s:" + self.index.astype(str))
        self.codes, _ = pd.factorize(pd.Series(marker), sort=True)

    def fit(self, data: pd.DataFrame) -> Fit:
        y, X, L = self.matrices(data)
        cov = _PartiallyNested()
        model = GaussianBlocks(make_blocks(self.codes, y, X, {"treated": self.d}), cov, reml=True)  # type: ignore[arg-type]
        resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        start = cov.start(np.array([resid[self.d == 1].var(), resid[self.d == 0].var()]))
        # Newton from the previous data set's optimum (the imputed data sets differ little); the usual
        # start is the fallback, so a poor warm start costs time, never the answer.
        warm = self.psi if self.psi is not None and self.psi[0] > 0 else None
        fit = fit_blocks(model, start, psi0=warm)
        if fit.converged:
            self.psi = fit.psi
        return Fit(
            self.terms, fit.beta, fit.vcov, len(y), bool(fit.converged), self._means(fit.beta, fit.vcov, L)
        )


class OlsDesign(_Design):
    def __init__(self, data: pd.DataFrame, formula: str, *, arm: str) -> None:
        super().__init__(data, formula, arm, [])

    def fit(self, data: pd.DataFrame) -> Fit:
        y, X, L = self.matrices(data)
        n, p = X.shape
        xtx_inv = np.linalg.inv(X.T @ X)
        beta = xtx_inv @ (X.T @ y)
        resid = y - X @ beta
        vcov = xtx_inv * float(resid @ resid) / (n - p)
        return Fit(self.terms, beta, vcov, n, True, self._means(beta, vcov, L))
