"""Mixed model for repeated measures (MMRM): visits within subjects, no random effects.

Python has no maintained MMRM (statsmodels' MixedLM cannot put an unstructured covariance on the
residuals), so the likelihood is written in :mod:`trialdesk.stats.reml`. Each subject is one block
whose covariance is the sub-matrix of the visit covariance for the visits it has (unstructured,
compound symmetry or AR(1)); the REML fit, Kenward–Roger adjusted covariance and df (as SAS
``DDFM=KR`` and pbkrtest compute them) and Satterthwaite df come from that module.

Results: the fixed effects, least-squares means per arm and visit as emmeans computes them (equal
weights over the other factors' levels, covariates at their mean), and the visit-specific arm
differences — the "model-estimated means" and effects of a trial's results table.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from trialdesk.errors import UserError
from trialdesk.stats.covariance import STRUCTURES
from trialdesk.stats.formula import Design, build_design, reference_grid, split_formula
from trialdesk.stats.reml import (
    GaussianFit,
    PatternBlocks,
    fit_blocks,
    kenward_roger,
    kenward_roger_df,
    make_patterns,
    satterthwaite_df,
)
from trialdesk.stats.results import ModelResult, coefficient_table

MmrmDf = Literal["kenward-roger", "satterthwaite", "none"]


class Inference:
    """Covariance and df for linear combinations ``L beta`` under one small-sample method."""

    def __init__(self, fit: GaussianFit, method: MmrmDf) -> None:
        self.fit, self.method = fit, method
        self.vcov = fit.vcov
        if method == "kenward-roger":
            self.vcov, self._pieces = kenward_roger(fit)

    def table(self, L: np.ndarray, level: float) -> pd.DataFrame:
        L = np.atleast_2d(L)
        estimate = L @ self.fit.beta
        se = np.sqrt(np.einsum("ip,pq,iq->i", L, self.vcov, L))
        if self.method == "kenward-roger":
            df: np.ndarray | None = kenward_roger_df(L, self.vcov, self._pieces)
        elif self.method == "satterthwaite":
            df = satterthwaite_df(self.fit, L)
        else:
            df = None
        return coefficient_table([""] * len(L), estimate, se, df, level=level)

    def tables(self, blocks: list[np.ndarray], level: float) -> list[dict[str, np.ndarray]]:
        """The columns of the table of each block of contrasts, all computed in one pass (scipy's
        distributions have a large per-call overhead, and so has every DataFrame operation)."""
        whole = self.table(np.vstack(blocks), level)
        columns = {name: whole[name].to_numpy() for name in whole.columns if name != "term"}
        out, start = [], 0
        for block in blocks:
            stop = start + len(block)
            out.append({name: values[start:stop] for name, values in columns.items()})
            start = stop
        return out


def _setup(data: pd.DataFrame, formula: str, visit: str | None, subject: str | None,
           covariance: str | None) -> tuple[Design, str, str, str, np.ndarray, list[str], np.ndarray]:
    """Design, covariance name, visit and subject columns, visit codes and labels, subject codes."""
    parts = split_formula(formula)
    if parts.random is not None:
        raise UserError("an MMRM has no random effects: use us(visit | subject) instead of ( | )")
    if parts.covariance is not None:
        visit = visit or parts.covariance.visit
        subject = subject or parts.covariance.subject
        covariance = covariance or parts.covariance.structure
        if (visit, subject) != (parts.covariance.visit, parts.covariance.subject):
            raise UserError("the visit/subject options disagree with the formula's covariance term")
    covariance = covariance or "us"
    if covariance not in STRUCTURES:
        raise UserError(f"covariance structure {covariance!r} is not one of {', '.join(STRUCTURES)}")
    if visit is None or subject is None:
        raise UserError("an MMRM needs the visit and subject columns: "
                        "write us(visit | subject) in the formula")
    design = build_design(parts.fixed, data, extra=[visit, subject])
    frame = design.frame
    visit_codes, visit_levels = pd.factorize(frame[visit], sort=True)
    subject_codes, _ = pd.factorize(frame[subject], sort=True)
    cell = subject_codes.astype(np.int64) * len(visit_levels) + visit_codes
    seen = np.zeros(int(cell.max()) + 1, dtype=bool)
    seen[cell] = True
    if int(seen.sum()) < len(cell):
        first = np.zeros(len(cell), dtype=bool)
        first[np.unique(cell, return_index=True)[1]] = True
        row = int(np.flatnonzero(~first)[0])
        raise UserError(f"subject {frame[subject].iloc[row]} has visit {frame[visit].iloc[row]} "
                        "more than once")
    return design, covariance, visit, subject, visit_codes, [str(v) for v in visit_levels], subject_codes


def fit_mmrm(data: pd.DataFrame, formula: str, *, visit: str | None = None, subject: str | None = None,
             covariance: Literal["us", "cs", "ar1"] | None = None, arm: str | None = None,
             method: Literal["REML", "ML"] = "REML", df: MmrmDf = "kenward-roger",
             level: float = 0.95) -> ModelResult:
    """Fit an MMRM, e.g. ``fit_mmrm(d, "y ~ y0 + arm * C(visit) + us(visit | id)", arm="arm")``.

    With ``df="kenward-roger"`` standard errors use the KR-adjusted covariance (as SAS and emmeans do);
    otherwise the model-based ``(X'V^-1X)^-1``. ``arm`` names the column whose levels the least-squares
    means and the per-visit arm differences are computed for.
    """
    method = method.upper()  # type: ignore[assignment]
    if method not in {"REML", "ML"}:
        raise UserError(f"method must be REML or ML, not {method!r}")
    if df not in {"kenward-roger", "satterthwaite", "none"}:
        raise UserError(f"df must be kenward-roger, satterthwaite or none, not {df!r}")
    if method == "ML" and df == "kenward-roger":
        raise UserError("Kenward-Roger degrees of freedom need a REML fit")
    setup = _setup(data, formula, visit, subject, covariance)
    design, structure, visit, subject, vcodes, vlabels, scodes = setup
    cov = STRUCTURES[structure](vlabels)
    if arm is not None and arm not in design.frame:
        raise UserError(f"arm column {arm!r} is not in the formula's variables")
    blocks = make_patterns(scodes, design.y, design.X, vcodes, len(vlabels))
    model = PatternBlocks(blocks, cov, reml=method == "REML")  # type: ignore[arg-type]
    resid = design.y - design.X @ np.linalg.lstsq(design.X, design.y, rcond=None)[0]
    fit = fit_blocks(model, cov.start(_moments(resid, vcodes, scodes, len(vlabels))))
    inference = Inference(fit, df)
    by = [arm, visit] if arm else [visit]
    labels, L = reference_grid(design, by)
    p = design.X.shape[1]
    contrasts = [np.eye(p), L]
    if arm:
        names, effects = _arm_contrasts(labels, L, arm=arm, visit=visit, terms=design.terms)
        contrasts.append(effects)
    tables = inference.tables(contrasts, level)
    table = pd.DataFrame({"term": design.terms, **tables[0]})
    n, K = design.nobs, len(fit.psi)
    result = ModelResult(
        model="mmrm", method=method, formula=formula, nobs=n, ngroups=int(scodes.max()) + 1,
        coefficients=table, loglik=-fit.deviance / 2, aic=fit.deviance + 2 * (p + K),
        # nlme's convention: REML information criteria count the n - p error contrasts.
        bic=fit.deviance + (p + K) * np.log(n - p if method == "REML" else n),
        variance_components=dict(zip(cov.names, map(float, fit.psi), strict=True)),
        converged=fit.converged, messages=list(fit.messages),
        extra={"df_method": df, "covariance": structure, "visit": visit, "subject": subject,
               "visits": vlabels},
    )
    result.tables["lsmeans"] = pd.DataFrame({
        **{name: labels[name].to_numpy() for name in by},
        **{name: values for name, values in tables[1].items() if name not in {"statistic", "p"}}})
    if arm:
        result.tables["arm_effects"] = pd.DataFrame({**names, **tables[2]})
    return result


def _moments(resid: np.ndarray, visits: np.ndarray, subjects: np.ndarray, T: int) -> np.ndarray:
    """Pairwise-complete covariance of OLS residuals by visit: the optimiser's starting point."""
    wide = np.full((int(subjects.max()) + 1, T), np.nan)
    wide[subjects, visits] = resid
    # Pairwise-complete covariance (pandas' DataFrame.cov(min_periods=2)), without building a frame.
    seen = ~np.isnan(wide)
    S = np.full((T, T), np.nan)
    for i in range(T):
        for j in range(i + 1):
            both = seen[:, i] & seen[:, j]
            if both.sum() >= 2:
                a, b = wide[both, i], wide[both, j]
                S[i, j] = S[j, i] = float((a - a.mean()) @ (b - b.mean())) / (both.sum() - 1)
    floor = 1e-8 * float(np.nanvar(resid)) + 1e-12
    diag = np.maximum(np.nan_to_num(np.diag(S), nan=floor), floor)
    S = np.nan_to_num(S, nan=0.0)
    np.fill_diagonal(S, diag)
    return S


def _arm_contrasts(labels: pd.DataFrame, L: np.ndarray, *, arm: str, visit: str,
                   terms: list[str]) -> tuple[dict[str, list[Any]], np.ndarray]:
    """Each arm minus the reference arm, at each visit: the label columns and the rows of L.

    The reference is the arm level without a ``[T.level]`` column in the design (the formula's
    reference, e.g. ``C(arm, Treatment('TAU'))``), else the first in sorted order.
    """
    arm_of, visit_of = labels[arm].tolist(), labels[visit].tolist()
    row_of = {(a, v): i for i, (a, v) in enumerate(zip(arm_of, visit_of, strict=True))}
    arms = sorted(set(arm_of))
    omitted = [a for a in arms if not any(f"[T.{a}]" in t for t in terms)]
    if len(omitted) == 1:
        arms = omitted + [a for a in arms if a != omitted[0]]
    rows, visits, contrasts = [], [], []
    for v in sorted(set(visit_of)):
        for a in arms[1:]:
            rows.append(L[row_of[(a, v)]] - L[row_of[(arms[0], v)]])
            visits.append(v)
            contrasts.append(f"{a} - {arms[0]}")
    return {visit: visits, "contrast": contrasts}, np.array(rows)
