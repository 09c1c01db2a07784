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

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialdesk.stats.formula import build_design, reference_grid
from trialdesk.stats.pnm import _PartiallyNested
from trialdesk.stats.reml import LOG2PI, Evaluation, GaussianBlocks, fit_blocks


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


class _Design(ABC):
    def __init__(self, data: pd.DataFrame, formula: str, arm: str, extra: list[str]) -> None:
        design = build_design(formula, data, extra=[arm, *extra])
        self.formula, self.arm, self.terms = formula, arm, list(design.terms)
        self.index = design.frame.index
        self.rows = data.index.get_indexer(self.index)  # positions of the design's rows in ``data``
        self.X = design.X
        self.y0 = self.terms.index("y0") if "y0" in self.terms else None
        labels, self.L = reference_grid(design, [arm])
        self.arms = [str(a) for a in labels[arm]]
        self.frame = design.frame

    def matrices(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """y, X and the arm-mean rows L for ``data`` (same rows as the first data set)."""
        y0 = data.loc[self.index, "y0"].to_numpy(float) if self.y0 is not None else None
        return self.arrays(data.loc[self.index, "y"].to_numpy(float), y0)

    def arrays(self, y: np.ndarray, x0: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """y, X and L from the outcome and baseline values of the design's rows, in their order."""
        X, L = self.X, self.L
        if self.y0 is not None and x0 is not None:
            X, L = X.copy(), L.copy()
            X[:, self.y0] = x0
            L[:, self.y0] = x0.mean()
        if np.isnan(y).any() or np.isnan(X).any():
            raise ValueError("a data set passed to a prebuilt design has missing values")
        return y, X, L

    def fit(self, data: pd.DataFrame) -> Fit:
        """Refit on a data set with the first one's rows and other columns, new ``y`` and ``y0``."""
        return self._fit(*self.matrices(data))

    def fit_values(self, y: np.ndarray, y0: np.ndarray | None) -> Fit:
        """Refit from whole columns of outcome and baseline values (row positions of the first data set)."""
        return self._fit(*self.arrays(y[self.rows], None if y0 is None else y0[self.rows]))

    @abstractmethod
    def _fit(self, y: np.ndarray, X: np.ndarray, L: np.ndarray) -> Fit:
        """The model's fit on prepared arrays."""

    def _means(self, beta: np.ndarray, vcov: np.ndarray, L: np.ndarray) -> dict[str, tuple[float, float]]:
        estimate, variance = L @ beta, np.einsum("ip,pq,iq->i", L, vcov, L)
        return {a: (float(e), float(v)) for a, e, v in zip(self.arms, estimate, variance, strict=True)}


def _sums(ev: Evaluation) -> dict[str, np.ndarray]:
    return ev.cache["pnm"]  # type: ignore[return-value]


class PnmLikelihood(GaussianBlocks):
    """The partially nested model's REML deviance and its derivatives in closed form, from group sums.

    :class:`~trialdesk.stats.reml.GaussianBlocks` inverts every block's covariance; here every block
    is a therapy group (``tau J + s2t I``, inverse ``(I - c J) / s2t`` with ``c = tau / (s2t + m tau)``)
    or a control participant (``s2c``), so the sums it takes over blocks reduce to sums over group
    totals: a step costs a few small matrix products instead of one inverse per group. On boundary fits
    (group variance estimated as zero), where Newton fails and the quasi-Newton fallback needs dozens of
    evaluations, this is what makes 50 imputed-data fits cheap. It answers the same questions
    (deviance, gradient, observed Hessian, expected information) for
    :func:`~trialdesk.stats.reml.fit_blocks`, so the fit follows the same path to the same optimum; a
    test checks each quantity against ``GaussianBlocks``.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, treated: np.ndarray, groups: np.ndarray) -> None:
        # Not GaussianBlocks.__init__: there are no per-block arrays to build.
        self.cov = _PartiallyNested()  # type: ignore[assignment]  # ClassVar names: same protocol
        self.reml = True
        self.classes = []
        self._dv = {}
        self.n, self.p = X.shape
        t = treated.astype(bool)
        self.yt, self.Xt, self.yc, self.Xc = y[t], X[t], y[~t], X[~t]
        _, index, sizes = np.unique(groups[t], return_inverse=True, return_counts=True)
        self.sizes = sizes.astype(float)
        self.Z = (index.reshape(-1)[None, :] == np.arange(len(sizes))[:, None]).astype(float)
        self.ZX, self.Zy = self.Z @ self.Xt, self.Z @ self.yt
        self.n_control = int((~t).sum())

    def evaluate(self, psi: np.ndarray) -> Evaluation:
        p = self.p
        tau, s2t, s2c = (float(v) for v in psi)
        h = s2t + self.sizes * tau  # 1' V_g^-1 1 = m / h for a group of m
        if s2t <= 0 or s2c <= 0 or np.any(h <= 0):
            return Evaluation(psi, np.inf, np.zeros(p), np.zeros((p, p)), ok=False)
        c = tau / h
        logdet = float(np.sum((self.sizes - 1) * np.log(s2t) + np.log(h))) + self.n_control * np.log(s2c)
        Wt = (self.Xt - self.Z.T @ (c[:, None] * self.ZX)) / s2t  # V^-1 X, treated rows
        Wc = self.Xc / s2c
        xtvx = self.Xt.T @ Wt + self.Xc.T @ Wc
        xtvy = Wt.T @ self.yt + Wc.T @ self.yc
        try:
            chol = np.linalg.cholesky(xtvx)
        except np.linalg.LinAlgError:
            return Evaluation(psi, np.inf, np.zeros(p), xtvx, ok=False)
        beta = np.linalg.solve(xtvx, xtvy)
        rt, rc = self.yt - self.Xt @ beta, self.yc - self.Xc @ beta
        Zr = self.Z @ rt
        ut, uc = (rt - self.Z.T @ (c * Zr)) / s2t, rc / s2c  # V^-1 r
        dev = logdet + float(rt @ ut + rc @ uc) + 2.0 * float(np.log(np.diag(chol)).sum())
        dev += (self.n - p) * LOG2PI
        ev = Evaluation(psi, float(dev), beta, xtvx, ok=True)
        # Z V^-1 X and Z V^-1 r: a group's total of V^-1 v is (its total of v) / h.
        ev.cache["pnm"] = {
            "h": h,
            "c": c,
            "Wt": Wt,
            "Wc": Wc,
            "ut": ut,
            "uc": uc,
            "ZW": self.ZX / h[:, None],
            "Zu": Zr / h,
        }
        return ev

    def gradient(self, ev: Evaluation) -> np.ndarray:
        """d deviance / d (tau, s2t, s2c): tr(V^-1 dV) - u' dV u - tr(C X'V^-1 dV V^-1 X)."""
        q = _sums(ev)
        C = np.linalg.inv(ev.xtvx)
        s2t, s2c = float(ev.psi[1]), float(ev.psi[2])
        ZW, Zu, Wt, Wc = q["ZW"], q["Zu"], q["Wt"], q["Wc"]
        return np.array(
            [
                float(np.sum(self.sizes / q["h"]) - Zu @ Zu - np.sum((ZW @ C) * ZW)),
                float(np.sum(self.sizes * (1 - q["c"])) / s2t - q["ut"] @ q["ut"] - np.sum((Wt @ C) * Wt)),
                float(self.n_control / s2c - q["uc"] @ q["uc"] - np.sum((Wc @ C) * Wc)),
            ]
        )

    def second_order(self, ev: Evaluation) -> dict[str, np.ndarray]:
        """Observed Hessian and expected information, as :meth:`GaussianBlocks.second_order`."""
        if "second" in ev.cache:
            return ev.cache["second"]  # type: ignore[return-value]
        q = _sums(ev)
        C = np.linalg.inv(ev.xtvx)
        s2t, s2c = float(ev.psi[1]), float(ev.psi[2])
        h, c, m = q["h"], q["c"], self.sizes
        ZW, Zu, Wt, Wc, ut, uc = q["ZW"], q["Zu"], q["Wt"], q["Wc"], q["ut"], q["uc"]
        e, a = 1 / h, m / h  # V_g^-1 1 = e 1, 1'V_g^-1 1 = a
        p = self.p
        S = np.zeros((3, 3))  # tr(V^-1 dV_k V^-1 dV_l); dV = (J in groups, I treated, I control)
        S[0, 0] = np.sum(a**2)
        S[0, 1] = S[1, 0] = np.sum(e**2 * m)
        S[1, 1] = np.sum(m - 2 * c * m + c**2 * m**2) / s2t**2
        S[2, 2] = self.n_control / s2c**2
        P = np.stack([ZW.T @ ZW, Wt.T @ Wt, Wc.T @ Wc])  # X'V^-1 dV_k V^-1 X
        Q = np.zeros((3, 3, p, p))  # X'V^-1 dV_k V^-1 dV_l V^-1 X
        Q[0, 0] = ZW.T @ (a[:, None] * ZW)
        Q[0, 1] = Q[1, 0] = ZW.T @ (e[:, None] * ZW)
        Q[1, 1] = Wt.T @ ((Wt - self.Z.T @ (c[:, None] * ZW)) / s2t)
        Q[2, 2] = Wc.T @ Wc / s2c
        ud = np.stack([Zu @ ZW, ut @ Wt, uc @ Wc])  # u' dV_k V^-1 X
        uu = np.zeros((3, 3))  # u' dV_k V^-1 dV_l u
        uu[0, 0] = np.sum(a * Zu**2)
        uu[0, 1] = uu[1, 0] = np.sum(e * Zu**2)
        uu[1, 1] = ut @ ((ut - self.Z.T @ (c * Zu)) / s2t)
        uu[2, 2] = uc @ uc / s2c
        # As GaussianBlocks: tr(PA PB) = tr(ViAViB) - 2 tr(C W'A Vi B W) + tr(C W'AW C W'BW); the
        # structure is linear in psi, so no second-derivative terms.
        trCQ = np.einsum("pq,klqp->kl", C, Q)
        CP = C[None] @ P
        trPP = S - trCQ - trCQ.T + np.einsum("kpq,lqp->kl", CP, CP)
        hessian = -trPP + 2 * (uu - ud @ C @ ud.T)
        out = {
            "C": C,
            "hessian": 0.5 * (hessian + hessian.T),
            "expected": 0.5 * trPP,
            "P": P,
            "Q": Q,
            "R": np.zeros((3, 3, p, p)),
        }
        ev.cache["second"] = out
        return out


def on_boundary(model: PnmLikelihood, s2: np.ndarray, tol: float = 1e-11) -> Evaluation | None:
    """The REML optimum with the group variance at zero, or None when zero is not the optimum.

    With tau = 0 the deviance depends on the two residual variances only: Newton on them from ``s2``
    (Fisher scoring where the observed Hessian is not positive definite, step halving), to the same
    deviance decrement as :func:`~trialdesk.stats.reml.fit_blocks`. The point is the constrained
    optimum when the deviance does not fall as tau leaves zero (Kuhn-Tucker: d deviance / d tau >= 0).
    """
    ev = model.evaluate(np.array([0.0, *s2]))
    for _ in range(60):
        if not ev.ok:
            return None
        grad = model.gradient(ev)
        second = model.second_order(ev)
        H = second["hessian"][1:, 1:]
        try:
            np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            H = 2.0 * second["expected"][1:, 1:]
        step = np.linalg.solve(H, grad[1:])
        if abs(float(grad[1:] @ step)) < tol:
            return ev if grad[0] >= 0 else None
        factor = 1.0
        for _ in range(40):
            trial = model.evaluate(np.concatenate([[0.0], ev.psi[1:] - factor * step]))
            if trial.ok and trial.deviance <= ev.deviance + 1e-10:
                break
            factor /= 2
        else:
            return None
        ev = trial
    return None


class PnmDesign(_Design):
    def __init__(self, data: pd.DataFrame, formula: str, *, arm: str, group: str, treated: str) -> None:
        super().__init__(data, formula, arm, [])
        self.psi: np.ndarray | None = None
        self.d = (self.frame[arm].astype(str) == treated).to_numpy(float)
        groups = data.loc[self.index, group].astype(str)
        marker = np.where(self.d == 1, "g:" + groups, "s:" + self.index.astype(str))
        self.codes, _ = pd.factorize(pd.Series(marker), sort=True)

    def _fit(self, y: np.ndarray, X: np.ndarray, L: np.ndarray) -> Fit:
        model = PnmLikelihood(y, X, self.d, self.codes)
        cov = model.cov
        resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        start = cov.start(np.array([resid[self.d == 1].var(), resid[self.d == 0].var()]))
        # Most imputed data sets of the demo trial put the group variance on its boundary (zero), where
        # Newton in (tau, s2t, s2c) cannot converge and the quasi-Newton fallback creeps towards zero
        # for dozens of steps. So the boundary is tried first: cheap, and used only when it is the
        # optimum (the deviance rises as tau leaves zero).
        edge = on_boundary(model, np.exp(start[1:]))
        if edge is not None:
            self.psi = edge.psi
            vcov = np.linalg.inv(edge.xtvx)
            return Fit(self.terms, edge.beta, vcov, len(y), True, self._means(edge.beta, vcov, L))
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

    def _fit(self, y: np.ndarray, X: np.ndarray, L: np.ndarray) -> Fit:
        n, p = X.shape
        xtx_inv = np.linalg.inv(X.T @ X)
        beta = xtx_inv @ (X.T @ y)
        resid = y - X @ beta
        vcov = xtx_inv * float(resid @ resid) / (n - p)
        return Fit(self.terms, beta, vcov, n, True, self._means(beta, vcov, L))
