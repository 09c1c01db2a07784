"""The primary analysis: one outcome at one visit by the plan's model, with its missing-data method.

For the IMR protocol: GAF-F at 9 months by the partially nested model (random therapy-group intercept
in the IMR arm only, a residual variance per arm), adjusted for baseline GAF-F, site and diagnosis,
after multiple imputation within arm (predictive mean matching over baseline, 9- and 21-month values,
site and diagnosis), pooled by Rubin's rules with Barnard-Rubin degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from trialdesk.analysis.fastfit import OlsDesign, PnmDesign
from trialdesk.analysis.frames import ARM, GROUP, ID, Arms
from trialdesk.analysis.pnm_means import arm_means
from trialdesk.errors import UserError
from trialdesk.protocol.plan import AnalysisPlan
from trialdesk.stats import fit_ols, fit_pnm, impute, pool_estimates
from trialdesk.stats.imputation import Imputation
from trialdesk.stats.results import ModelResult

Y, Y0 = "y", "y0"
CATEGORICAL = ("site", "diagnosis")


@dataclass
class PrimaryModel:
    """The plan's model for one outcome column, as a callable fit and the name of the arm term."""

    plan: AnalysisPlan
    arms: Arms
    outcome: str = Y
    fits: int = field(default=0, init=False)

    @property
    def term(self) -> str:
        return f"C(arm, Treatment('{self.arms.control}'))[T.{self.arms.treated}]"

    @property
    def formula(self) -> str:
        rhs = [f"C(arm, Treatment('{self.arms.control}'))"]
        if self.plan.adjust_for_baseline:
            rhs.append(Y0)
        # Sum coding: the means per arm average over the levels, as emmeans' equal weights do.
        rhs += [f"C({c}, Sum)" if c in CATEGORICAL else c for c in self.plan.covariates]
        return f"{self.outcome} ~ " + " + ".join(rhs)

    def fit(self, data: pd.DataFrame, *, df: str = "satterthwaite") -> ModelResult:
        self.fits += 1
        if self.plan.model == "pnm":
            return fit_pnm(data, self.formula, group=GROUP, arm=ARM, treated=self.arms.treated, df=df)  # type: ignore[arg-type]
        if self.plan.model == "ancova":
            return fit_ols(data, self.formula)
        raise UserError(
            f"plan {self.plan.code}: model {self.plan.model!r} is not supported for a "
            "single-visit outcome; use pnm or ancova"
        )

    def design(self, data: pd.DataFrame) -> PnmDesign | OlsDesign:
        """The model with its design built once on ``data``, for refits on imputed versions of it."""
        if self.plan.model == "pnm":
            return PnmDesign(data, self.formula, arm=ARM, group=GROUP, treated=self.arms.treated)
        return OlsDesign(data, self.formula, arm=ARM)


def prepare(frame: pd.DataFrame, visit: str, baseline: str) -> pd.DataFrame:
    """The frame with ``y`` (outcome at ``visit``), ``y0`` and a group for every treated participant.

    An intervention-arm participant never placed in a therapy group is a cluster of one: still analysed
    in the arm they were allocated to (intention to treat).
    """
    out = frame.copy()
    out[Y] = out[visit]
    out[Y0] = out.get(baseline, np.nan)
    return out


def fill_groups(frame: pd.DataFrame, arms: Arms) -> pd.DataFrame:
    out = frame.copy()
    lone = (out[ARM] == arms.treated) & out[GROUP].isna()
    out.loc[lone, GROUP] = "unplaced:" + out.loc[lone, ID]
    return out


def interval(estimate: float, variance: float, df: float, level: float = 0.95) -> dict[str, float]:
    se = float(np.sqrt(variance))
    q = float(sps.t.ppf(0.5 + level / 2, df)) if np.isfinite(df) else float(sps.norm.ppf(0.5 + level / 2))
    statistic = estimate / se if se > 0 else np.inf
    p = float(2 * (sps.t.sf(abs(statistic), df) if np.isfinite(df) else sps.norm.sf(abs(statistic))))
    return {
        "estimate": float(estimate),
        "se": se,
        "ci_low": float(estimate - q * se),
        "ci_high": float(estimate + q * se),
        "p": p,
        "df": float(df),
    }


def single_fit(model: PrimaryModel, data: pd.DataFrame) -> dict[str, Any]:
    """Effect and arm means from one fit on (complete) data."""
    result = model.fit(data)
    coef = result.coef(model.term)
    means = _means(model, result, data)
    return {
        "effect": {k: float(coef[k]) for k in ("estimate", "se", "ci_low", "ci_high", "p", "df")},
        "means": {a: {"mean": m, "se": s, "n": n} for a, (m, s, n) in means.items()},
        "nobs": result.nobs,
        "messages": list(result.messages),
    }


def _means(
    model: PrimaryModel, result: ModelResult, data: pd.DataFrame
) -> dict[str, tuple[float, float, int]]:
    if model.plan.model != "pnm":
        return {}
    found = arm_means(result, data, model.formula, arm=ARM, group=GROUP)
    return {
        a: (float(e), float(np.sqrt(v)), found.n[a])
        for a, e, v in zip(found.arms, found.estimate, found.variance, strict=True)
    }


def imputation_for(
    frame: pd.DataFrame, plan: AnalysisPlan, visits: list[str], seed: int, m: int | None = None
) -> Imputation:
    """MI of the outcome at every visit (baseline included), within arm, from site and diagnosis."""
    predictors = [c for c in plan.covariates if c in frame.columns]
    columns = [v for v in visits if v in frame.columns]
    return impute(
        frame,
        columns,
        predictors,
        method="pmm",
        m=m or plan.missing_data.imputations or 20,
        by=ARM,
        seed=seed,
    )


def pooled_fit(
    model: PrimaryModel,
    imputation: Imputation,
    prepare_one: Callable[[pd.DataFrame], pd.DataFrame],
    progress: Callable[[int], None] | None = None,
    *,
    shift: tuple[str, float] | None = None,
    columns: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """Fit on every completed data set; pool the effect and each arm's mean by Rubin's rules.

    ``shift = (column, delta)`` adds delta to the imputed values of that column in the intervention arm
    (the delta-adjusted tipping-point analysis). ``columns = (outcome, baseline)`` names the columns
    that ``prepare_one`` turns into ``y`` and ``y0``: only the first data set is then prepared as a
    frame (to build the design), the others go in as arrays (the same numbers, no frame copies).
    """
    estimates, variances, nobs, p = [], [], 0, 0
    design: PnmDesign | OlsDesign | None = None
    treated_rows = np.flatnonzero(imputation.data[ARM].to_numpy() == model.arms.treated)
    shifted = np.array([], int)
    if shift is not None:
        shifted = np.intersect1d(imputation.missing.get(shift[0], np.array([], int)), treated_rows)
    for i in range(imputation.m):
        if design is not None and columns is not None:
            outcome, baseline = columns
            y = imputation.values(i, outcome)
            y0 = imputation.values(i, baseline) if baseline and baseline in imputation.data.columns else None
            if shift is not None and shift[0] == outcome:
                y[shifted] += shift[1]
            elif shift is not None and shift[0] == baseline and y0 is not None:
                y0[shifted] += shift[1]
            found = design.fit_values(y, y0)
        else:
            completed = imputation.complete(i)
            if shift is not None:
                values = completed[shift[0]].to_numpy(float, copy=True)
                values[shifted] += shift[1]
                completed[shift[0]] = values
            data = prepare_one(completed)
            if design is None:
                design = model.design(data)
                if columns is not None and not data.index.equals(imputation.data.index):
                    columns = None  # rows moved: arrays by position would not line up
            found = design.fit(data)
        effect = found.coef(model.term)
        arms = list(found.means)
        estimates.append([effect[0], *(found.means[a][0] for a in arms)])
        variances.append([effect[1], *(found.means[a][1] for a in arms)])
        nobs, p = found.nobs, len(found.terms)
        model.fits += 1
        if progress:
            progress(i + 1)
    dfcom = float(nobs - p)
    table = pool_estimates(np.array(estimates), np.array(variances), ["effect", *arms], dfcom)
    rows = {
        str(r["term"]): interval(float(r["estimate"]), float(r["t"]), float(r["df"]))
        | {"fmi": float(r["fmi"])}
        for r in table.to_dict(orient="records")
    }
    return {
        "effect": rows["effect"],
        "means": {a: {"mean": rows[a]["estimate"], "se": rows[a]["se"]} for a in arms},
        "nobs": nobs,
        "m": imputation.m,
        "dfcom": dfcom,
    }
