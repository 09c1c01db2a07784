"""Model-estimated (least-squares) means per arm from a partially nested model fit.

:func:`trialdesk.stats.fit_pnm` reports coefficients and variance components but not the covariance
of the coefficients, which the arm means need. Given the REML variance components the covariance is
the generalised least squares ``(X' V^-1 X)^-1`` with ``V`` block diagonal: for a therapy group of
``m`` members ``tau 11' + s2_t I`` (inverse ``(I - tau / (s2_t + m tau) 11') / s2_t``), for a control
participant ``s2_c``. That is the same matrix the fit's standard errors come from (a test checks the
diagonal against them). The means follow emmeans: equal weights over the levels of the categorical
covariates, numeric covariates at their mean over the fitted rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialdesk.stats.formula import build_design, reference_grid
from trialdesk.stats.results import ModelResult


@dataclass(frozen=True)
class ArmMeans:
    arms: list[str]
    estimate: np.ndarray  # per arm
    variance: np.ndarray  # per arm (squared SE)
    n: dict[str, int]  # fitted rows per arm
    vcov: np.ndarray  # covariance of the coefficients


def pnm_vcov(
    X: np.ndarray, treated: np.ndarray, blocks: np.ndarray, *, tau: float, s2t: float, s2c: float
) -> np.ndarray:
    """``(X' V^-1 X)^-1`` for the partially nested covariance (see the module docstring)."""
    p = X.shape[1]
    xtvx = np.zeros((p, p))
    control = ~treated
    xc = X[control]
    xtvx += xc.T @ xc / s2c
    xt, bt = X[treated], blocks[treated]
    xtvx += xt.T @ xt / s2t
    if tau > 0 and len(bt):
        codes, index = np.unique(bt, return_inverse=True)
        sums = np.zeros((len(codes), p))
        np.add.at(sums, index, xt)
        sizes = np.bincount(index, minlength=len(codes)).astype(float)
        weights = tau / (s2t * (s2t + sizes * tau))
        xtvx -= (sums * weights[:, None]).T @ sums
    return np.asarray(np.linalg.inv(xtvx))


def arm_means(result: ModelResult, data: pd.DataFrame, formula: str, *, arm: str, group: str) -> ArmMeans:
    """Each arm's model-estimated mean and its variance, from a :func:`fit_pnm` result on ``data``."""
    treated_arm = str(result.extra["treated_arm"])
    design = build_design(formula, data, extra=[arm])
    frame = design.frame
    treated = (frame[arm].astype(str) == treated_arm).to_numpy()
    groups = data.loc[frame.index, group]
    blocks = np.where(treated, "g:" + groups.astype(str), "s:" + frame.index.astype(str))
    components = list(result.variance_components.values())
    tau, s2t, s2c = (float(v) for v in components)
    vcov = pnm_vcov(design.X, treated, blocks, tau=tau, s2t=s2t, s2c=s2c)
    beta = result.coefficients.set_index("term").loc[design.terms, "estimate"].to_numpy(float)
    labels, L = reference_grid(design, [arm])
    arms = [str(a) for a in labels[arm]]
    estimate = L @ beta
    variance = np.einsum("ip,pq,iq->i", L, vcov, L)
    counts = frame[arm].astype(str).value_counts()
    return ArmMeans(arms, estimate, variance, {a: int(counts.get(a, 0)) for a in arms}, vcov)
