"""Poisson and logistic GLMMs with a random intercept, by Laplace or adaptive Gauss–Hermite quadrature.

The fit maximises the same approximate marginal likelihood as ``lme4::glmer`` (``nAGQ = 1`` is the
Laplace approximation, ``nAGQ > 1`` adaptive Gauss–Hermite quadrature centred at each group's
conditional mode and scaled by its conditional standard deviation), jointly over the fixed effects β
and the random-intercept standard deviation σ. statsmodels has only Bayesian (variational / MCMC)
GLMMs, so the likelihood is written here. With one scalar random effect per group the integrals are
one-dimensional and independent, so every step is vectorised over groups (``np.bincount`` sums).

Standard errors of β come, as in lme4's default ``vcov()``, from the inverse of a finite-difference
Hessian of the deviance over (σ, β).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special

from trialdesk.errors import UserError
from trialdesk.stats.glm import _check_outcome, _exponentiated, build_design, fit_glm, offset_values
from trialdesk.stats.results import ModelResult, coefficient_table

_FAMILIES = {"poisson": "poisson", "binomial": "binomial", "logistic": "binomial", "logit": "binomial"}


class _Problem:
    """Data of one fit, arranged for per-group vectorised sums."""

    def __init__(self, y: np.ndarray, trials: np.ndarray, X: np.ndarray, *, offset: np.ndarray,
                 codes: np.ndarray, ngroups: int, family: str, nagq: int) -> None:
        self.y, self.trials, self.X, self.offset = y, trials, X, offset
        self.codes, self.ngroups, self.family = codes, ngroups, family
        nodes, weights = hermegauss(nagq)
        # log of weights for ∫ F(z) dz = Σ w_k e^{z_k²/2} F(z_k) / √(2π) against the N(0,1) density.
        self.nodes = nodes
        self.log_w = np.log(weights) + nodes**2 / 2 - 0.5 * np.log(2 * np.pi)
        if family == "poisson":
            self.constant = -float(np.sum(special.gammaln(y + 1)))
        else:
            self.constant = float(np.sum(special.gammaln(trials + 1) - special.gammaln(y + 1)
                                         - special.gammaln(trials - y + 1)))
        self.u = np.zeros(ngroups)  # warm start for the conditional modes

    def saturated_loglik(self) -> float:
        """Log-likelihood with each mean set to its observation (for lme4's AGQ log-likelihood scale)."""
        y, n = self.y, self.trials
        if self.family == "poisson":
            return float(np.sum(special.xlogy(y, y) - y) + self.constant)
        return float(np.sum(special.xlogy(y, y / n) + special.xlogy(n - y, 1 - y / n)) + self.constant)

    def _sum(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=values, minlength=self.ngroups)

    def _loglik_obs(self, eta: np.ndarray) -> np.ndarray:
        """Log-likelihood per observation without its constant term."""
        if self.family == "poisson":
            return self.y * eta - np.exp(eta)
        return self.y * eta - self.trials * np.logaddexp(0.0, eta)

    def _moments(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score dℓ/dη and information per observation (canonical links)."""
        if self.family == "poisson":
            mu = np.exp(eta)
            return self.y - mu, mu
        p = special.expit(eta)
        return self.y - self.trials * p, self.trials * p * (1 - p)

    def _g(self, u: np.ndarray, fixed: np.ndarray, sigma: float) -> np.ndarray:
        return self._sum(self._loglik_obs(fixed + sigma * u[self.codes])) - u**2 / 2

    def modes(self, fixed: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conditional modes û per group by damped Newton (g is concave), with g(û) and −g''(û)."""
        u = self.u.copy()
        g = self._g(u, fixed, sigma)
        for _ in range(100):
            score, info = self._moments(fixed + sigma * u[self.codes])
            grad = sigma * self._sum(score) - u
            hess = sigma**2 * self._sum(info) + 1
            step = grad / hess
            new_u = u + step
            new_g = self._g(new_u, fixed, sigma)
            for _ in range(30):  # halve the step in groups where it overshot
                worse = new_g < g - 1e-12
                if not worse.any():
                    break
                step = np.where(worse, step / 2, step)
                new_u = u + step
                new_g = self._g(new_u, fixed, sigma)
            u, g = new_u, new_g
            if np.max(np.abs(step)) < 1e-11:
                break
        _, info = self._moments(fixed + sigma * u[self.codes])
        h = sigma**2 * self._sum(info) + 1
        self.u = u
        return u, g, h

    def loglik(self, params: np.ndarray) -> float:
        """Approximate marginal log-likelihood at params = (σ, β); symmetric in the sign of σ."""
        sigma, beta = float(params[0]), params[1:]
        fixed = self.X @ beta + self.offset
        if not np.all(np.isfinite(fixed)):
            return -np.inf
        u, g, h = self.modes(fixed, sigma)
        scale = 1 / np.sqrt(h)
        if len(self.nodes) == 1:
            per_group = g - 0.5 * np.log(h)
        else:
            points = u[:, None] + self.nodes[None, :] * scale[:, None]  # groups x nodes
            eta = fixed[:, None] + sigma * points[self.codes]
            ell = np.stack([self._sum(self._loglik_obs(eta[:, k])) for k in range(len(self.nodes))], axis=1)
            terms = ell - points**2 / 2 + self.log_w[None, :]
            per_group = special.logsumexp(terms, axis=1) + np.log(scale) + 0.5 * np.log(2 * np.pi)
        return float(np.sum(per_group) + self.constant)


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian (the same scheme, and step, as lme4's ``deriv12``)."""
    k = len(x)
    out = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        out[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / step**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = step
            out[i, j] = out[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                     + f(x - ei - ej)) / (4 * step**2)
    return out


def _gradient(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    grad = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = step
        grad[i] = (f(x + e) - f(x - e)) / (2 * step)
    return grad


def fit_glmm(data: pd.DataFrame, formula: str, group: str, family: str = "poisson", nagq: int = 1, *,
             offset: str | np.ndarray | pd.Series | None = None, level: float = 0.95) -> ModelResult:
    """Random-intercept GLMM ``formula + (1 | group)``; Laplace (nagq=1) or adaptive GH (nagq>1).

    For binomial totals write the outcome as ``cbind(successes, failures)`` (as in glmer).
    """
    fam = _FAMILIES.get(str(family).lower())
    if fam is None:
        raise UserError(f"family {family!r} is not one of {', '.join(sorted(_FAMILIES))} for a GLMM")
    if not isinstance(nagq, int | np.integer) or not 1 <= nagq <= 100:
        raise UserError(f"nagq must be a whole number from 1 to 100, got {nagq!r}")
    if not isinstance(data, pd.DataFrame) or group not in data.columns:
        raise UserError(f"group column {group!r} is not in the data")
    rows = data[data[group].notna()]
    design = build_design(rows, formula)
    _check_outcome(design, fam)
    off = offset_values(rows, offset, design.index)
    codes, levels = pd.factorize(rows.loc[design.index, group], sort=True)
    ngroups = len(levels)
    if ngroups < 2:
        raise UserError(f"group column {group!r} has {ngroups} group(s); a random intercept needs at least 2")
    trials = design.trials if design.trials is not None else np.ones_like(design.y)
    problem = _Problem(design.y, trials, design.X, offset=np.zeros(len(design.y)) if off is None else off,
                       codes=codes.astype(np.intp), ngroups=ngroups, family=fam, nagq=int(nagq))

    start_fit = fit_glm(rows, formula, family=fam, offset=offset)
    x0 = np.concatenate([[1.0], start_fit.coefficients["estimate"].to_numpy()])

    def objective(params: np.ndarray) -> float:
        value = problem.loglik(params)
        return -2 * value if np.isfinite(value) else 1e300

    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = optimize.minimize(objective, x0, method="BFGS", options={"gtol": 1e-7, "maxiter": 1000})
        x = opt.x
        # Polish with Newton steps on central differences: BFGS's forward-difference gradient stops
        # short of the digits lme4 prints.
        for _ in range(5):
            hess = _hessian(objective, x)
            grad = _gradient(objective, x)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
            if objective(x - step) <= objective(x) + 1e-10:
                x = x - step
            if np.max(np.abs(step)) < 1e-9:
                break
        grad = _gradient(objective, x)
        hess = _hessian(objective, x)
    messages += [str(w.message).splitlines()[0] for w in caught]
    x[0] = abs(x[0])
    sigma = float(x[0])
    converged = bool(np.all(np.isfinite(x))) and float(np.max(np.abs(grad))) < 1e-3
    if not converged:
        messages.append("optimiser did not converge: max |gradient| of the deviance "
                        f"{np.max(np.abs(grad)):.3g} ({opt.message})")
    singular = sigma < 1e-4
    if singular:
        messages.append(f"random-intercept SD is (close to) zero ({sigma:.3g}): singular fit, "
                        "the GLM without the random effect gives the same estimates")
    k = design.X.shape[1]
    try:
        cov = 2 * np.linalg.inv(hess)
        if singular or np.any(np.diag(cov)[1:] <= 0):
            raise np.linalg.LinAlgError
        se = np.sqrt(np.diag(cov)[1:])
    except np.linalg.LinAlgError:
        # Fall back to the β block of the Hessian with σ held fixed (conditional on σ).
        se = np.sqrt(np.diag(2 * np.linalg.pinv(hess[1:, 1:])))
        messages.append("Hessian over (σ, β) not positive definite: SEs are conditional on σ")
    loglik = problem.loglik(x)
    n = len(design.y)
    table = coefficient_table(design.terms, x[1:], se, df=None, level=level)
    label = "rate_ratios" if fam == "poisson" else "odds_ratios"
    expo = _exponentiated(table, label[:-1])
    extra_agq = {}
    if nagq > 1:
        # lme4 (1.1-31) prints for nAGQ > 1 a deviance built from deviance residuals, which puts its
        # logLik on another scale: ours − saturated − (groups/2)·log(2π). Given for comparison only.
        extra_agq["lme4_agq_loglik"] = loglik - problem.saturated_loglik() - ngroups / 2 * np.log(2 * np.pi)
    method = "Laplace" if nagq == 1 else f"adaptive Gauss-Hermite quadrature ({nagq} points)"
    return ModelResult(
        model="glmm", method=f"ML, {method}; {fam}", formula=f"{formula} + (1 | {group})", nobs=n,
        coefficients=table, loglik=loglik, aic=-2 * loglik + 2 * (k + 1),
        bic=-2 * loglik + np.log(n) * (k + 1), ngroups=ngroups,
        variance_components={f"{group} (Intercept)": sigma**2}, converged=converged,
        messages=messages, tables={label: expo},
        extra={"family": fam, "nagq": int(nagq), "random_intercept_sd": sigma, "deviance": -2 * loglik,
               "conditional_modes": dict(zip(map(str, levels), (sigma * problem.u).tolist(), strict=True)),
               **extra_agq},
    )
