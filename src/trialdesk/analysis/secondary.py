"""Secondary outcomes: scores over visits by MMRM, register counts by negative binomial regression.

* Scores (plan model ``mmrm``): one MMRM per instrument score over all its post-baseline visits
  (unstructured covariance, Kenward-Roger), arm × visit and baseline × visit, plus the plan's
  covariates. Each outcome is reported at each of its visits: least-squares means per arm and visit
  (SE) and the arm difference with CI and p.
* Register counts (plan model ``nb``): per measure and counting period, a negative binomial GLM with
  log(follow-up years) as offset; the rate ratio with CI and p, and the model-estimated rate per
  person-year per arm (equal weights over covariate levels; SE by the delta method from a fit with that
  arm as reference).
* Complete-case and MI sensitivity rows use an ANCOVA per visit (observed values only; or pooled over
  imputed data sets, imputed within arm from the instrument's values at every visit, site and diagnosis).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from trialdesk.analysis.estimability import NotEstimable, require_per_arm
from trialdesk.analysis.fastfit import OlsDesign
from trialdesk.analysis.frames import ARM, ID, Arms, long_visits
from trialdesk.analysis.primary import interval
from trialdesk.protocol.plan import AnalysisPlan
from trialdesk.stats import fit_glm, fit_mmrm, fit_nb, fit_ols, impute
from trialdesk.stats.imputation import Imputation
from trialdesk.stats.pooling import pool_estimates

CATEGORICAL = ("site", "diagnosis")
YEAR_DAYS = 365.25


def _covariates(plan: AnalysisPlan, sum_coded: bool = False) -> list[str]:
    return [(f"C({c}, Sum)" if sum_coded else f"C({c})") if c in CATEGORICAL else c for c in plan.covariates]


def mmrm_estimates(
    plan: AnalysisPlan, arms: Arms, frame: pd.DataFrame, visits: list[str], baseline: str | None
) -> tuple[dict[str, dict[str, Any]], int]:
    """Visit -> estimate fields from one MMRM over ``visits`` (``frame`` has one column per visit)."""
    use_baseline = plan.adjust_for_baseline and baseline is not None
    data = frame.rename(columns={baseline: "y0"}) if use_baseline else frame
    long = long_visits(data, visits, value="y")
    if use_baseline:
        long = long.dropna(subset=["y0"])
    observed = long.groupby(["visit", ARM]).size()
    for visit in visits:
        require_per_arm(
            {a: int(observed.get((visit, a), 0)) for a in arms.contrast}, f"the outcome at {visit}"
        )
    arm = f"C(arm, Treatment('{arms.control}'))"
    rhs = (["y0 * C(visit)"] if use_baseline else []) + [f"{arm} * C(visit)", *_covariates(plan)]
    if len(visits) == 1:
        rhs = (["y0"] if use_baseline else []) + [arm, *_covariates(plan)]
        result = fit_ols(long, "y ~ " + " + ".join(rhs))
        coef = result.coef(f"{arm}[T.{arms.treated}]")
        est = {k: float(coef[k]) for k in ("estimate", "ci_low", "ci_high", "p")}
        return {visits[0]: {**est, "means": {}}}, result.nobs
    formula = "y ~ " + " + ".join(rhs) + " + us(visit | trial_id)"
    result = fit_mmrm(long, formula, arm=ARM)
    lsmeans, effects = result.tables["lsmeans"], result.tables["arm_effects"]
    out = {}
    for visit in visits:
        row = effects[
            (effects["visit"] == visit) & (effects["contrast"] == f"{arms.treated} - {arms.control}")
        ]
        if row.empty:
            raise NotEstimable(f"the MMRM gave no {arms.treated} - {arms.control} contrast at visit {visit}")
        r = row.iloc[0]
        means = {}
        for a in arms.contrast:
            found = lsmeans[(lsmeans[ARM] == a) & (lsmeans["visit"] == visit)]
            if found.empty:
                raise NotEstimable(f"the MMRM gave no least-squares mean of arm {a} at visit {visit}")
            m = found.iloc[0]
            means[a] = {
                "mean": float(m["estimate"]),
                "se": float(m["se"]),
                "n": int(observed.get((visit, a), 0)),
            }
        out[visit] = {
            "estimate": float(r["estimate"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "p": float(r["p"]),
            "means": means,
        }
    return out, int(long[ID].nunique())


def visit_imputation(
    plan: AnalysisPlan, frame: pd.DataFrame, visits: list[str], baseline: str | None, *, seed: int, m: int
) -> Imputation:
    """The instrument's values at every visit imputed ``m`` times within arm, from site and diagnosis."""
    use_baseline = plan.adjust_for_baseline and baseline is not None
    columns = ([baseline] if use_baseline and baseline else []) + visits
    predictors = [c for c in plan.covariates if c in frame.columns]
    return impute(frame, columns, predictors, m=m, by=ARM, seed=seed)


def ancova_at(
    plan: AnalysisPlan,
    arms: Arms,
    frame: pd.DataFrame,
    visit: str,
    *,
    baseline: str | None,
    imputation: Imputation | None = None,
) -> dict[str, Any]:
    """The effect at ``visit`` by ANCOVA on complete cases, or pooled over the imputed data sets."""
    use_baseline = plan.adjust_for_baseline and baseline is not None
    arm = f"C(arm, Treatment('{arms.control}'))"
    term = f"{arm}[T.{arms.treated}]"
    formula = "y ~ " + " + ".join((["y0"] if use_baseline else []) + [arm, *_covariates(plan)])

    def prepared(data: pd.DataFrame) -> pd.DataFrame:
        return data.assign(y=data[visit], y0=data[baseline] if use_baseline else np.nan)

    if imputation is None:
        complete = prepared(frame).dropna(subset=["y", *(["y0"] if use_baseline else [])])
        require_per_arm(
            {a: int((complete[ARM] == a).sum()) for a in arms.contrast}, f"the outcome at {visit}"
        )
        coef = fit_ols(complete, formula).coef(term)
        return {**{k: float(coef[k]) for k in ("estimate", "ci_low", "ci_high", "p")}, "n": len(complete)}
    # The design is built on the first completed data set; every data set then goes in as its outcome
    # and baseline columns (same numbers as whole frames, without m frame copies).
    first = prepared(imputation.complete(0))
    design = OlsDesign(first, formula, arm=ARM)
    fits = [
        design.fit_values(
            imputation.values(i, visit),
            imputation.values(i, baseline) if use_baseline and baseline else None,
        ).coef(term)
        for i in range(imputation.m)
    ]
    n = len(first)
    table = pool_estimates(
        np.array([[f[0]] for f in fits]),
        np.array([[f[1]] for f in fits]),
        [term],
        float(n - len(design.terms)),
    )
    row = table.iloc[0]
    return {**interval(float(row["estimate"]), float(row["t"]), float(row["df"])), "n": n}


def register_frame(register: pd.DataFrame, frame: pd.DataFrame, period: str, measure: str) -> pd.DataFrame:
    rows = register[register["period"] == period]
    counts = rows.assign(trial_id=rows["trial_id"].astype(str)).set_index("trial_id")
    out = frame.copy()
    out["count"] = pd.to_numeric(out[ID].map(counts[measure]), errors="coerce").astype(float)
    out["years"] = (
        pd.to_numeric(out[ID].map(counts["followup_days"]), errors="coerce").astype(float) / YEAR_DAYS
    )
    return out[out["count"].notna() & (out["years"] > 0)].reset_index(drop=True)


def nb_estimate(plan: AnalysisPlan, arms: Arms, data: pd.DataFrame) -> dict[str, Any]:
    """Rate ratio (treated over control) and the model-estimated rate per person-year per arm."""
    require_per_arm({a: int((data[ARM] == a).sum()) for a in arms.contrast}, "the count")
    for a in arms.contrast:
        if not data.loc[data[ARM] == a, "count"].sum() > 0:
            raise NotEstimable(f"no events in arm {a}: a rate ratio is not estimable")
    offset = np.log(data["years"].to_numpy(float)) if plan.offset == "follow_up_time" else None
    covariates = _covariates(plan, sum_coded=True)
    means: dict[str, dict[str, Any]] = {}
    ratio: dict[str, float] = {}
    model = "nb"
    for reference in arms.contrast:  # each arm as reference once: its intercept is its log rate
        other = next(a for a in arms.contrast if a != reference)
        formula = "count ~ " + " + ".join([f"C(arm, Treatment('{reference}'))", *covariates])
        with warnings.catch_warnings():
            # theta's SE can be undefined (sqrt of a negative information) when theta is huge; the
            # fit's converged flag and messages report that, and theta's SE is not used here.
            warnings.simplefilter("ignore", RuntimeWarning)
            result = fit_nb(data, formula, offset=offset)
        if not result.converged:
            # MASS::glm.nb fails this way when theta runs to infinity (no overdispersion): the Poisson
            # model is the limit, and is what is then reported (model says so).
            result = fit_glm(data, formula, family="poisson", offset=offset)
            model = "poisson (negative binomial theta unbounded)"
            if not result.converged:
                raise NotEstimable(
                    f"neither the negative binomial nor the Poisson fit of {formula!r} converged"
                )
        intercept = result.coef("Intercept")
        numbers = result.coefficients[["estimate", "ci_low", "ci_high"]].to_numpy(float)
        if not np.all(np.isfinite(numbers)) or np.any(np.abs(numbers) > 50):
            # exp(50) events per year: a separated fit (no events in an arm), not an estimate.
            raise NotEstimable(
                f"the count model {formula!r} is not estimable on these {len(data)} rows "
                "(no events in an arm?)"
            )
        rate = float(np.exp(intercept["estimate"]))
        means[reference] = {
            "mean": rate,
            "se": rate * float(intercept["se"]),
            "n": int((data[ARM] == reference).sum()),
        }
        if reference == arms.control:
            coef = result.coef(f"C(arm, Treatment('{reference}'))[T.{other}]")
            ratio = {
                "estimate": float(np.exp(coef["estimate"])),
                "ci_low": float(np.exp(coef["ci_low"])),
                "ci_high": float(np.exp(coef["ci_high"])),
                "p": float(coef["p"]),
                "theta": float(result.theta or np.nan),
                "converged": bool(result.converged),
            }
    return {**ratio, "means": means, "n": len(data), "model": model}
