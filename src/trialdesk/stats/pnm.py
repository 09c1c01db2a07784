"""Partially nested model for individually randomised group-treatment trials.

In the IMR trial participants are randomised one by one, but only the intervention arm is treated in
groups: its outcomes are clustered by therapy group, the control arm's are not. The model (Roberts &
Roberts 2005, Stat Med 24:1803; Bauer, Sterba & Hallfors 2008, Multivariate Behav Res 43:210) gives
a random intercept for therapy group in the intervention arm only and a residual variance per arm:

    y = X beta + d_i u_g + e,   u_g ~ N(0, tau^2),   e ~ N(0, sigma^2_arm),

with ``d_i`` = 1 in the grouped arm. Control participants are singletons with no group effect. It is
the lme specification ``random = ~ 0 + treated | group, weights = varIdent(form = ~ 1 | arm)``.
statsmodels cannot express it (one variance per arm, a random effect in one arm only), so it runs on
the block likelihood of :mod:`trialdesk.stats.reml`: each therapy group is one block, each control
participant a block of one. The ICC is ``tau^2 / (tau^2 + sigma^2_treated)``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.stats.formula import build_design, split_formula
from trialdesk.stats.reml import BlockClass, GaussianBlocks, fit_blocks, make_blocks, satterthwaite_df
from trialdesk.stats.results import ModelResult, coefficient_table


class _PartiallyNested:
    """V_b = tau d d' + diag(sigma2_treated d + sigma2_control (1 - d)); psi = (tau, s2_t, s2_c)."""

    linear = True
    names: ClassVar[list[str]] = ["group", "residual_treated", "residual_control"]

    def start(self, moments: np.ndarray) -> np.ndarray:
        return np.log([0.1 * moments[0], moments[0], moments[1]])

    def psi(self, theta: np.ndarray) -> np.ndarray:
        return np.exp(theta)

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        return np.diag(np.exp(theta))

    def valid(self, psi: np.ndarray) -> bool:
        return bool(np.all(psi >= 0) and psi[1] > 0 and psi[2] > 0)

    def d_block(self, psi: np.ndarray, cls: BlockClass) -> list[np.ndarray]:
        d = cls.payload["treated"]
        eye = np.eye(d.shape[1])
        return [d[:, :, None] * d[:, None, :], d[:, :, None] * eye, (1 - d)[:, :, None] * eye]

    def block(self, psi: np.ndarray, cls: BlockClass) -> np.ndarray:
        parts = self.d_block(psi, cls)
        return psi[0] * parts[0] + psi[1] * parts[1] + psi[2] * parts[2]

    def d2_block(self, psi: np.ndarray, cls: BlockClass) -> dict[tuple[int, int], np.ndarray]:
        return {}


def fit_pnm(data: pd.DataFrame, formula: str, group: str, arm: str, *, treated: str | None = None,
            method: Literal["REML", "ML"] = "REML", df: Literal["satterthwaite", "none"] = "satterthwaite",
            level: float = 0.95) -> ModelResult:
    """Fit the partially nested model; ``treated`` is the arm delivered in groups.

    If ``treated`` is not given it is the one arm whose participants have a ``group``; the control arm's
    group column is ignored (they are singletons). A treated participant without a group is an error.
    """
    method = method.upper()  # type: ignore[assignment]
    if method not in {"REML", "ML"}:
        raise UserError(f"method must be REML or ML, not {method!r}")
    parts = split_formula(formula)
    if parts.random is not None or parts.covariance is not None:
        raise UserError("the partially nested model takes its group from --group, not from the formula")
    for name in (group, arm):
        if name not in data.columns:
            have = ", ".join(map(str, data.columns))
            raise UserError(f"column {name!r} not in the data (columns are: {have})")
    keep = data[arm].notna()
    arms = sorted(data.loc[keep, arm].astype(str).unique())
    if len(arms) != 2:
        raise UserError(f"the partially nested model needs exactly two arms in {arm!r}, found {arms}")
    if treated is None:
        grouped = sorted(data.loc[keep & data[group].notna(), arm].astype(str).unique())
        if len(grouped) != 1:
            raise UserError(f"cannot tell which arm is treated in groups ({grouped} have a {group!r}): "
                            "name it with treated=")
        treated = grouped[0]
    if treated not in arms:
        raise UserError(f"treated arm {treated!r} is not one of the arms {arms}")
    is_treated = (data[arm].astype(str) == treated) & keep
    if data.loc[is_treated, group].isna().any():
        row = data.index[is_treated & data[group].isna()][0]
        raise UserError(f"row {row}: a participant in the {treated} arm has no {group!r}")
    work = data.copy()
    marker = "__pnm_block__"
    work[marker] = np.where(is_treated, "g:" + work[group].astype(str), "s:" + work.index.astype(str))
    design = build_design(parts.fixed, work, extra=[arm, marker])
    frame = design.frame
    d = (frame[arm].astype(str) == treated).to_numpy(float)
    codes, blocks_found = pd.factorize(frame[marker], sort=True)
    n_groups = int(pd.Series(blocks_found).str.startswith("g:").sum())
    if n_groups < 2:
        raise UserError(f"the {treated} arm has {n_groups} therapy group(s) in the complete rows; "
                        "need at least 2")
    cov = _PartiallyNested()
    blocks = make_blocks(codes, design.y, design.X, {"treated": d})
    model = GaussianBlocks(blocks, cov, reml=method == "REML")  # type: ignore[arg-type]
    resid = design.y - design.X @ np.linalg.lstsq(design.X, design.y, rcond=None)[0]
    variances = np.array([resid[d == 1].var(), resid[d == 0].var()])
    fit = fit_blocks(model, cov.start(variances))
    messages = list(fit.messages)
    if fit.psi[0] < 1e-8 * fit.psi[1]:
        messages.append("singular fit: the therapy-group variance is estimated as zero")
    se = np.sqrt(np.diag(fit.vcov))
    p = design.X.shape[1]
    dfs = satterthwaite_df(fit, np.eye(p)) if df == "satterthwaite" and fit.psi[0] > 0 else None
    table = coefficient_table(design.terms, fit.beta, se, dfs, level=level)
    tau, s2t, s2c = map(float, fit.psi)
    n, k = design.nobs, p + 3
    return ModelResult(
        model="pnm", method=method, formula=formula, nobs=n, ngroups=n_groups, coefficients=table,
        loglik=-fit.deviance / 2, aic=fit.deviance + 2 * k, bic=fit.deviance + k * np.log(n),
        variance_components={f"{group} ({treated} arm)": tau, f"Residual ({treated})": s2t,
                             f"Residual ({next(a for a in arms if a != treated)})": s2c},
        converged=fit.converged, messages=messages,
        extra={"icc": tau / (tau + s2t), "treated_arm": treated, "group": group, "arm": arm,
               "df_method": df if dfs is not None else "none"},
    )
