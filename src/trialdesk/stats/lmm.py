"""Linear mixed models: a random intercept (and optionally a random slope) by one grouping column.

Why not statsmodels' MixedLM: its fixed-effect standard errors come from the joint Hessian of all
parameters, which differs on unbalanced data from what lme4, nlme and SAS PROC MIXED report, namely
``sigma^2 (X' V^-1 X)^-1`` with the variance parameters held at their estimates; it has no
Satterthwaite degrees of freedom; and it is slow. This module writes the profiled deviance the way
lme4 does (Bates et al. 2015, J Stat Softw 67(1), section 3): with ``Var(b_g) = sigma^2 Lambda Lambda'``
and per-group sufficient statistics ``Z_g'Z_g, Z_g'X_g, Z_g'y_g``, Woodbury's identity gives
``X'H^-1X``, ``X'H^-1y`` and ``log|H|`` group by group in closed form, so one deviance evaluation costs
O(groups) vectorised work and no ``n x n`` matrix exists. ``Lambda`` is optimised on the log-Cholesky
scale (log of its diagonal); a variance at zero is checked explicitly and reported as a singular fit.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from trialdesk.errors import UserError
from trialdesk.stats.formula import build_design, split_formula
from trialdesk.stats.reml import BlockClass, GaussianBlocks, GaussianFit, make_blocks, satterthwaite_df
from trialdesk.stats.results import ModelResult, coefficient_table

DfMethod = Literal["satterthwaite", "none"]


class _Profiled:
    """lme4's profiled deviance for one grouping factor with q = 1 or 2 random effects."""

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, reml: bool) -> None:
        G = int(codes.max()) + 1
        n, p = X.shape
        q = Z.shape[1]
        self.n, self.p, self.q, self.reml = n, p, q, reml

        def by_group(values: np.ndarray) -> np.ndarray:
            out = np.zeros((G, values.shape[1]))
            np.add.at(out, codes, values)
            return out

        zz = (Z[:, :, None] * Z[:, None, :]).reshape(n, q * q)
        self.ZtZ = by_group(zz).reshape(G, q, q)
        self.ZtX = by_group((Z[:, :, None] * X[:, None, :]).reshape(n, q * p)).reshape(G, q, p)
        self.Zty = by_group(Z * y[:, None])
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)

    def lam(self, phi: np.ndarray) -> np.ndarray:
        """Lower-triangular relative Cholesky factor from log-Cholesky parameters."""
        if self.q == 1:
            return np.array([[np.exp(phi[0]) if np.isfinite(phi[0]) else 0.0]])
        return np.array([[np.exp(phi[0]), 0.0], [phi[1], np.exp(phi[2])]])

    def solve(self, lam: np.ndarray) -> dict[str, np.ndarray | float]:
        if self.q == 1:
            # Scalar per group: plain broadcasting and one (p x G)(G x p) product.
            lam0 = float(lam[0, 0])
            m = 1.0 + lam0**2 * self.ZtZ[:, 0, 0]
            A1 = lam0 * self.ZtX[:, 0, :]
            a1 = lam0 * self.Zty[:, 0]
            scaled = A1 / m[:, None]
            xhx = self.XtX - scaled.T @ A1
            xhy = self.Xty - scaled.T @ a1
            yhy = self.yty - float(a1 @ (a1 / m))
            beta = np.linalg.solve(xhx, xhy)
            r2 = max(yhy - float(beta @ xhy), 1e-300)
            return {"logdet_m": float(np.log(m).sum()), "xhx": xhx, "beta": beta, "r2": r2}
        A = np.einsum("ji,gjp->gip", lam, self.ZtX)  # Lambda' Z'X
        a = np.einsum("ji,gj->gi", lam, self.Zty)
        M = np.einsum("ji,gjk,kl->gil", lam, self.ZtZ, lam) + np.eye(self.q)
        logdet_m = float(np.linalg.slogdet(M)[1].sum())
        MiA = np.linalg.solve(M, A)
        Mia = np.linalg.solve(M, a[:, :, None])[:, :, 0]
        xhx = self.XtX - np.einsum("gip,giq->pq", A, MiA)
        xhy = self.Xty - np.einsum("gip,gi->p", A, Mia)
        yhy = self.yty - float(np.einsum("gi,gi->", a, Mia))
        beta = np.linalg.solve(xhx, xhy)
        r2 = max(yhy - float(beta @ xhy), 1e-300)
        return {"logdet_m": logdet_m, "xhx": xhx, "beta": beta, "r2": r2}

    def deviance(self, lam: np.ndarray) -> float:
        s = self.solve(lam)
        n, p = self.n, self.p
        if self.reml:
            ld = np.linalg.slogdet(np.asarray(s["xhx"]))[1]
            return float(s["logdet_m"] + ld + (n - p) * (1 + np.log(2 * np.pi * float(s["r2"]) / (n - p))))
        return float(s["logdet_m"] + n * (1 + np.log(2 * np.pi * float(s["r2"]) / n)))


class _RandomEffects:
    """Block covariance ``Z_b D Z_b' + sigma^2 I`` with psi = (vech(D), sigma^2), linear in psi."""

    linear = True

    def __init__(self, q: int, names: list[str]) -> None:
        self.q = q
        self.names = names
        self.pairs = [(i, j) for i in range(q) for j in range(i, q)]

    def d_matrix(self, psi: np.ndarray) -> np.ndarray:
        D = np.zeros((self.q, self.q))
        for (i, j), value in zip(self.pairs, psi[:-1], strict=True):
            D[i, j] = D[j, i] = value
        return D

    def start(self, moments: np.ndarray) -> np.ndarray:
        return np.append(np.eye(self.q)[np.triu_indices(self.q)], moments.mean())

    def psi(self, theta: np.ndarray) -> np.ndarray:
        return theta

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        return np.eye(len(theta))

    def valid(self, psi: np.ndarray) -> bool:
        return bool(psi[-1] > 0 and np.all(np.linalg.eigvalsh(self.d_matrix(psi)) >= 0))

    def block(self, psi: np.ndarray, cls: BlockClass) -> np.ndarray:
        D = self.d_matrix(psi)
        Z = cls.payload["Z"]
        m = Z.shape[1]
        return np.einsum("bmi,ij,bnj->bmn", Z, D, Z) + psi[-1] * np.eye(m)

    def d_block(self, psi: np.ndarray, cls: BlockClass) -> list[np.ndarray]:
        Z = cls.payload["Z"]
        out = []
        for i, j in self.pairs:
            outer = np.einsum("bm,bn->bmn", Z[:, :, i], Z[:, :, j])
            out.append(outer if i == j else outer + np.swapaxes(outer, 1, 2))
        out.append(np.broadcast_to(np.eye(Z.shape[1]), (Z.shape[0], Z.shape[1], Z.shape[1])))
        return out

    def d2_block(self, psi: np.ndarray, cls: BlockClass) -> dict[tuple[int, int], np.ndarray]:
        return {}


def fit_lmm(data: pd.DataFrame, formula: str, group: str | None = None, *, slope: str | None = None,
            method: Literal["REML", "ML"] = "REML", df: DfMethod = "satterthwaite",
            level: float = 0.95) -> ModelResult:
    """Fit ``formula`` with a random intercept (and ``slope``) by ``group``.

    The formula may carry the random part in lme4 syntax instead: ``y ~ x + (1 + days | id)``.
    Standard errors are conditional on the variance estimates, as lme4/nlme/SAS report them.
    """
    parts = split_formula(formula)
    intercept = True
    if parts.covariance is not None:
        raise UserError("a covariance term such as us(visit | id) belongs to an MMRM (stats mmrm), "
                        "not an LMM")
    if parts.random is not None:
        if group is not None and group != parts.random.group:
            raise UserError(f"--group {group} disagrees with the formula's grouping {parts.random.group}")
        group, slope, intercept = parts.random.group, parts.random.slope, parts.random.intercept
    if group is None:
        raise UserError("a mixed model needs a grouping column: give --group COL or (1 | COL) in the formula")
    method = method.upper()  # type: ignore[assignment]
    if method not in {"REML", "ML"}:
        raise UserError(f"method must be REML or ML, not {method!r}")
    design = build_design(parts.fixed, data, extra=[group] + ([slope] if slope else []))
    frame = design.frame
    if slope is not None and not pd.api.types.is_numeric_dtype(frame[slope]):
        raise UserError(f"random slope column {slope!r} is not numeric")
    codes, levels = pd.factorize(frame[group], sort=True)
    G = len(levels)
    if G < 2:
        raise UserError(f"grouping column {group!r} has only {G} group in the complete rows")
    columns = [np.ones(design.nobs)] if intercept else []
    if slope:
        columns.append(frame[slope].to_numpy(float))
    Z = np.column_stack(columns)
    q = Z.shape[1]
    reml = method == "REML"
    prof = _Profiled(design.y, design.X, Z, codes, reml)
    messages: list[str] = []
    if q == 1:
        phi, converged, message = _optimise_scalar(prof)
    else:
        phi, converged, message = _optimise_vector(prof)
    if message:
        messages.append(message)
    lam = prof.lam(phi)
    sol = prof.solve(lam)
    n, p = design.X.shape
    sigma2 = float(sol["r2"]) / (n - p if reml else n)
    vcov = sigma2 * np.linalg.inv(np.asarray(sol["xhx"]))
    beta = np.asarray(sol["beta"])
    D = sigma2 * lam @ lam.T
    re_names = (["(Intercept)"] if intercept else []) + ([slope] if slope else [])
    cov = _RandomEffects(q, re_names)
    psi = np.array([D[i, j] for i, j in cov.pairs] + [sigma2])
    deviance = prof.deviance(lam)
    fit: GaussianFit | None = None
    if design.nobs <= 20000 or df == "satterthwaite":
        fit, polished = _engine_fit(design.y, design.X, Z, codes, cov, reml=reml, psi=psi,
                                    polish=q == 2 or design.nobs <= 20000)
        if polished is not None and polished.deviance <= deviance + 1e-10 * abs(deviance):
            # Newton steps on the variance parameters with the analytic Hessian sharpen the optimum.
            psi, beta, vcov, deviance = polished.psi, polished.beta, polished.vcov, polished.deviance
            fit = polished
            sigma2 = float(psi[-1])
            D = cov.d_matrix(psi)
    se = np.sqrt(np.diag(vcov))
    dfs = satterthwaite_df(fit, np.eye(p)) if (df == "satterthwaite" and fit is not None) else None
    table = coefficient_table(design.terms, beta, se, dfs, level=level)
    components: dict[str, float] = {}
    for i, name in enumerate(re_names):
        components[f"{group} {name}"] = float(D[i, i])
    if q == 2:
        components[f"{group} cov({re_names[0]}, {re_names[1]})"] = float(D[0, 1])
        corr = float(D[0, 1] / np.sqrt(D[0, 0] * D[1, 1]))
        components[f"{group} corr({re_names[0]}, {re_names[1]})"] = corr
    components["Residual"] = sigma2
    k = p + len(cov.pairs) + 1
    return ModelResult(
        model="lmm", method=method, formula=formula, nobs=n, ngroups=G, coefficients=table,
        loglik=-deviance / 2, aic=deviance + 2 * k, bic=deviance + k * np.log(n),
        variance_components=components, converged=converged, messages=messages,
        extra={"df_method": df, "group": group, "theta": [float(v) for v in lam[np.tril_indices(q)]]},
    )


def _optimise_scalar(prof: _Profiled) -> tuple[np.ndarray, bool, str]:
    """Brent's method on log(lambda); lambda = 0 (no group variance) is checked separately."""
    res = optimize.minimize_scalar(lambda t: prof.deviance(prof.lam(np.array([t]))), bounds=(-12.0, 8.0),
                                   method="bounded", options={"xatol": 1e-12, "maxiter": 500})
    at_zero = prof.deviance(np.zeros((1, 1)))
    if at_zero <= float(res.fun) or res.x < -11.9:
        return np.array([-np.inf]), True, "singular fit: the group variance is estimated as zero"
    if res.x > 7.9:
        return np.array([res.x]), False, "did not converge: the group variance runs to the upper bound"
    return np.array([res.x]), bool(res.success), "" if res.success else f"did not converge: {res.message}"


def _optimise_vector(prof: _Profiled) -> tuple[np.ndarray, bool, str]:
    res = optimize.minimize(lambda t: prof.deviance(prof.lam(t)), np.zeros(3), method="L-BFGS-B",
                            options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10})
    # L-BFGS-B can stop "ABNORMAL" when its line search finds nothing better at machine precision, at the
    # optimum; judge it as lme4 does (check.conv.grad: largest absolute gradient under 0.002), by central
    # differences, since the solver's own gradient is a one-sided difference.
    converged = bool(res.success) or bool(np.max(np.abs(_central_gradient(
        lambda t: prof.deviance(prof.lam(t)), res.x))) < 2e-3)
    message = "" if converged else f"did not converge: {res.message}"
    if min(res.x[0], res.x[2]) < -10:
        message = "singular fit: a random-effect variance is estimated near zero"
    return res.x, converged, message


def _central_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    steps = np.eye(len(x)) * h
    return np.array([(f(x + step) - f(x - step)) / (2 * h) for step in steps])


def _engine_fit(y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, cov: _RandomEffects,
                *, reml: bool, psi: np.ndarray, polish: bool) -> tuple[GaussianFit, GaussianFit | None]:
    """The generic block likelihood at psi (for Satterthwaite df), plus a Newton-polished refit."""
    from trialdesk.stats.reml import fit_blocks

    classes = make_blocks(codes, y, X, {"Z": Z})
    model = GaussianBlocks(classes, cov, reml)
    ev = model.evaluate(psi)
    base = GaussianFit(psi=psi, beta=ev.beta, vcov=np.linalg.inv(ev.xtvx), deviance=ev.deviance,
                       converged=True, iterations=0, messages=[], model=model, evaluation=ev)
    if not polish or not ev.ok or np.any(psi[:-1][[i == j for i, j in cov.pairs]] <= 0):
        return base, None
    polished = fit_blocks(model, psi0=psi)
    if not polished.converged or not cov.valid(polished.psi):
        return base, None
    return polished, polished
