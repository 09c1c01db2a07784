"""The primary analysis applied to every simulated trial at once, with batched numpy linear algebra.

Both analyses regress the primary follow-up value on arm, baseline value, site and diagnosis, over the
participants observed at the primary visit (complete cases: valid here because missingness depends
only on the baseline, which is in the model):

* ``ancova``: ordinary least squares; ignores the therapy groups. Right when ICC = 0, and the
  deliberately wrong analysis when there is clustering.
* ``lmm``: the partially nested random-intercept model (the protocol's ``pnm``): a random intercept
  per therapy group, in the intervention arm only, ``V = sigma^2 (I + gamma Z Z')``. Fitted by REML,
  profiling out the fixed effects and sigma^2 and maximising over the variance ratio gamma on a grid
  (0 and 48 log-spaced values from 1e-4 to 20), refined by three rounds of a 13-point grid around
  each trial's best point (gamma to about 0.2 %). ``V`` is block diagonal, so ``V^-1`` needs only
  the group sums of X and y: for a group of m observed members
  ``(I + gamma 11')^-1 = I - gamma / (1 + m gamma) 11'``.
  The test of the arm effect is a t test with Satterthwaite's degrees of freedom for the two arms'
  variance components (k - 1 for the intervention arm's k groups, n0 - 1 for control).

statsmodels fits one model at a time; a Python loop over 10,000 fits takes minutes, this takes
seconds, which is why it is written here (and checked against statsmodels in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from trialdesk.simulation.trials import SimulatedTrials

Analysis = Literal["ancova", "lmm"]
ANALYSES: tuple[str, ...] = ("ancova", "lmm")
ARM_COLUMN = 1  # the design matrix is [intercept, arm, baseline, site dummies..., diagnosis]


# Student's t distribution, written here rather than taken from scipy.special: importing scipy costs
# a quarter of a second of CPU (its array-API layer clones numpy, loading numpy.testing and f2py),
# an eighth of `trialdesk simulate power`'s whole 2 s budget, for two functions. Checked against R's
# pt/qt (tests/reference/simulation) and scipy's stdtr/stdtrit (tests/unit/simulation).
_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)


def _lgamma(a: np.ndarray) -> np.ndarray:
    return _LGAMMA(a).astype(float)


def _beta_fraction(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Continued fraction of the regularised incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    for m in range(1, 1000):
        m2 = 2.0 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1.0 + numerator / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            step = d * c
            h = h * step
        if not np.any(np.abs(step - 1.0) > 1e-15):
            break
    return h


def t_two_sided_p(statistic: np.ndarray, df: np.ndarray) -> np.ndarray:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2)."""
    t, nu = np.broadcast_arrays(np.asarray(statistic, float), np.asarray(df, float))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ok = np.isfinite(t) & np.isfinite(nu) & (nu > 0)
        t, nu = np.where(ok, t, 1.0), np.where(ok, nu, 1.0)
        x, y = nu / (nu + t * t), t * t / (nu + t * t)  # x and 1 - x, each without cancellation
        a, b = nu / 2.0, np.full_like(nu, 0.5)
        log_front = _lgamma(a + b) - _lgamma(a) - _lgamma(b) + a * np.log(x) + b * np.log(y)
        # the fraction converges fast for x below (a + 1) / (a + b + 2); above, use I_x(a, b) = 1 - I_y(b, a)
        direct = x < (a + 1.0) / (a + b + 2.0)
        first, second = np.where(direct, a, b), np.where(direct, b, a)
        value = np.exp(log_front) * _beta_fraction(first, second, np.where(direct, x, y)) / first
        p = np.where(direct, value, 1.0 - value)
        p = np.where(y == 0.0, 1.0, p)
    infinite = np.isinf(statistic) & (np.asarray(df) > 0)
    return np.where(ok, np.clip(p, 0.0, 1.0), np.where(infinite, 0.0, np.nan))


def t_quantile(q: float, df: np.ndarray) -> np.ndarray:
    """The ``q`` quantile (0.5 < q < 1) of Student's t with ``df`` degrees of freedom (df > 0)."""
    given, back = np.unique(np.asarray(df, float), return_inverse=True)  # often few distinct df
    nu = np.where(given > 0, given, 1.0)
    z = NormalDist().inv_cdf(q)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # Cornish-Fisher start, then Newton steps on the upper tail 1 - q = p(t) / 2
        t = z + (z**3 + z) / (4 * nu) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)
        t = np.where(np.isfinite(t) & (t > 0), t, 1.0)
        log_norm = _lgamma((nu + 1) / 2) - _lgamma(nu / 2) - 0.5 * np.log(nu * math.pi)
        for _ in range(30):  # quadratic convergence: 2-4 steps to the precision of the tail area
            density = np.exp(log_norm - (nu + 1) / 2 * np.log1p(t * t / nu))
            step = (t_two_sided_p(t, nu) / 2 - (1 - q)) / density
            t = np.maximum(t + step, t / 4)
            if not np.any(np.abs(step) > 1e-13 * np.abs(t)):
                break
    return np.where(given > 0, t, np.nan)[back].reshape(np.shape(df))


@dataclass(frozen=True)
class BatchEstimates:
    """The arm effect in each simulated trial: estimate, SE, degrees of freedom, p and the fit's gamma."""

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    p: np.ndarray
    gamma: np.ndarray | None = None

    @property
    def ok(self) -> np.ndarray:
        return np.isfinite(self.estimate) & np.isfinite(self.se) & np.isfinite(self.p)


def design_matrix(trials: SimulatedTrials,
                  visit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (B, N, p), y (B, N) and the observed weights w (B, N) at the primary visit (or ``visit``)."""
    scenario = trials.scenario
    index = scenario.primary_visit if visit is None else visit
    layout = trials.layout
    n_sims, n_rows = trials.baseline.shape
    n_sites = len(scenario.site_codes)
    weights = trials.observed[index].astype(float)
    x = np.empty((n_sims, n_rows, 3 + n_sites))
    x[:, :, 0] = weights
    x[:, :, ARM_COLUMN] = layout.intervention * weights
    np.multiply(trials.baseline - scenario.baseline_mean, weights, out=x[:, :, 2])
    for site in range(1, n_sites):
        x[:, :, 2 + site] = (layout.site == site) * weights
    np.multiply(trials.diagnosis, weights, out=x[:, :, -1])
    y = trials.followup[index] * weights
    return x, y, weights


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve; a singular system (a degenerate simulated trial) gives NaN for that trial only."""
    vector = b.ndim == a.ndim - 1
    rhs = b[..., None] if vector else b
    try:
        out = np.linalg.solve(a, rhs)
    except np.linalg.LinAlgError:
        out = np.full(rhs.shape, np.nan)
        good = np.linalg.cond(a) < 1e12
        out[good] = np.linalg.solve(a[good], rhs[good])
    return out[..., 0] if vector else out


def ancova(trials: SimulatedTrials) -> BatchEstimates:
    """OLS of the follow-up on arm, baseline, site and diagnosis, in every trial at once."""
    return ancova_arrays(*design_matrix(trials))


def ancova_arrays(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> BatchEstimates:
    """Batched OLS: x (B, N, p) and y (B, N) with unobserved rows zeroed, weights (B, N) 0/1.

    Column ``ARM_COLUMN`` of x is the arm; the rest are any covariates.
    """
    n_obs = weights.sum(axis=1)
    p = x.shape[2]
    xtx = np.matmul(x.transpose(0, 2, 1), x)
    xty = np.matmul(x.transpose(0, 2, 1), y[:, :, None])[:, :, 0]
    unit = np.zeros((x.shape[0], p))
    unit[:, ARM_COLUMN] = 1.0
    solved = _solve(xtx, np.stack([xty, unit], axis=-1))
    beta, inverse_column = solved[..., 0], solved[..., 1]
    rss = np.einsum("bn,bn->b", y, y) - np.einsum("bi,bi->b", xty, beta)
    df = n_obs - p
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = rss / df
        se = np.sqrt(sigma2 * inverse_column[:, ARM_COLUMN])
        statistic = beta[:, ARM_COLUMN] / se
    return BatchEstimates(beta[:, ARM_COLUMN], se, df, t_two_sided_p(statistic, df))


@dataclass(frozen=True)
class _Sufficient:
    """Cross-products and group sums from which the REML profile at any gamma is cheap."""

    xtx: np.ndarray  # (B, p, p)
    xty: np.ndarray  # (B, p)
    yty: np.ndarray  # (B,)
    sx: np.ndarray  # (B, K, p) group sums of x
    sy: np.ndarray  # (B, K) group sums of y
    m: np.ndarray  # (B, K) observed members per group
    n_obs: np.ndarray  # (B,)
    p: int


def _sufficient(x: np.ndarray, y: np.ndarray, weights: np.ndarray, membership: np.ndarray) -> _Sufficient:
    return _Sufficient(
        xtx=np.matmul(x.transpose(0, 2, 1), x),
        xty=np.matmul(x.transpose(0, 2, 1), y[:, :, None])[:, :, 0],
        yty=np.einsum("bn,bn->b", y, y),
        sx=np.matmul(membership.T, x),
        sy=y @ membership,
        m=weights @ membership,
        n_obs=weights.sum(axis=1),
        p=x.shape[2],
    )


def _profile(stats: _Sufficient, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """-2 REML log-likelihood (up to a constant) at ``gamma`` (B,), with beta, sigma^2 and (X'V^-1X)^-1."""
    c = gamma[:, None] / (1 + stats.m * gamma[:, None])  # (B, K)
    weighted = stats.sx * c[:, :, None]
    a = stats.xtx - np.einsum("bki,bkj->bij", weighted, stats.sx)
    b = stats.xty - np.einsum("bki,bk->bi", weighted, stats.sy)
    yvy = stats.yty - np.einsum("bk,bk->b", c, stats.sy**2)
    beta = _solve(a, b)
    rss = yvy - np.einsum("bi,bi->b", b, beta)
    residual_df = stats.n_obs - stats.p
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = rss / residual_df
        _, logdet_a = np.linalg.slogdet(a)
        logdet_v = np.log1p(stats.m * gamma[:, None]).sum(axis=1)
        deviance = residual_df * np.log(sigma2) + logdet_v + logdet_a
    return deviance, beta, sigma2, a


GAMMA_GRID = np.concatenate([[0.0], np.logspace(-4, np.log10(20.0), 48)])


def lmm(trials: SimulatedTrials) -> BatchEstimates:
    """REML partially nested random-intercept model in every trial at once (see module docstring)."""
    return lmm_arrays(*design_matrix(trials), trials.layout.membership)


def _argmin(deviance: np.ndarray) -> np.ndarray:
    return np.argmin(np.where(np.isfinite(deviance), deviance, np.inf), axis=1)


def lmm_arrays(x: np.ndarray, y: np.ndarray, weights: np.ndarray, membership: np.ndarray) -> BatchEstimates:
    """Batched REML fit; ``membership`` (N, K) is 0/1 group membership (all-zero rows: not grouped)."""
    stats = _sufficient(x, y, weights, membership)
    n_sims = stats.n_obs.size
    rows = np.arange(n_sims)
    grid = GAMMA_GRID
    deviance = np.stack([_profile(stats, np.full(n_sims, g))[0] for g in grid], axis=1)
    best = _argmin(deviance)
    low = grid[np.maximum(best - 1, 0)]
    high = grid[np.minimum(best + 1, grid.size - 1)]
    # three rounds of a 13-point grid between the neighbours of the best point so far: the bracket
    # shrinks 6-fold each round (the profile is smooth and, in practice, unimodal in gamma)
    fine = np.linspace(0.0, 1.0, 13)
    for _ in range(3):
        candidates = low[:, None] + (high - low)[:, None] * fine[None, :]
        fine_deviance = np.stack([_profile(stats, candidates[:, j])[0] for j in range(fine.size)], axis=1)
        pick = _argmin(fine_deviance)
        step = (high - low) / (fine.size - 1)
        centre = candidates[rows, pick]
        low, high = np.maximum(centre - step, 0.0), centre + step
    gamma = centre
    _, beta, sigma2, a = _profile(stats, gamma)
    unit = np.zeros((n_sims, stats.p))
    unit[:, ARM_COLUMN] = 1.0
    inverse_column = _solve(a, unit)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(sigma2 * inverse_column[:, ARM_COLUMN])
        statistic = beta[:, ARM_COLUMN] / se
        df = _satterthwaite_df(stats, gamma)
    return BatchEstimates(beta[:, ARM_COLUMN], se, df, t_two_sided_p(statistic, df), gamma)


def _satterthwaite_df(stats: _Sufficient, gamma: np.ndarray) -> np.ndarray:
    """Satterthwaite df of var(mean IMR) + var(mean control) with k - 1 and n0 - 1 df respectively."""
    groups = (stats.m > 0).sum(axis=1)
    n1 = stats.m.sum(axis=1)
    n0 = stats.n_obs - n1
    mean_size = n1 / np.maximum(groups, 1)
    v1 = (1 + mean_size * gamma) / n1
    v0 = 1 / n0
    return (v1 + v0) ** 2 / (v1**2 / np.maximum(groups - 1, 1) + v0**2 / (n0 - 1))


def analyse(trials: SimulatedTrials, analysis: str) -> BatchEstimates:
    if analysis == "ancova":
        return ancova(trials)
    if analysis == "lmm":
        return lmm(trials)
    from trialdesk.errors import UserError

    raise UserError(f"analysis must be one of {', '.join(ANALYSES)} (got {analysis!r})")
