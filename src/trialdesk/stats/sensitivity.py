"""Sensitivity analyses of the primary comparison around missing data and adherence.

Each takes the data and a fitting callable ``fit(frame) -> ModelResult`` (the primary analysis model)
and the name of the treatment-effect term, and returns tidy rows with the same columns:
``analysis, term, estimate, se, ci_low, ci_high, p, nobs`` (plus details).

* complete case — rows with an observed outcome only;
* per protocol — the control arm plus the treatment-arm completers (dose table's completer flag);
* best–worst and worst–best case — missing outcomes set to the arm's observed mean ± ``spread`` SD
  (Jakobsen et al., BMC Med Res Methodol 2017;17:162), favouring then disfavouring the treatment arm;
* delta-adjusted tipping point — multiply imputed outcomes in the treatment arm shifted by δ, each
  δ analysed and pooled (Rubin), reporting the first δ at which the conclusion changes;
* complier average causal effect — randomisation as the instrument for receiving the intervention
  (attendance ≥ threshold), two-stage least squares (Angrist, Imbens & Rubin, JASA 1996); with one-sided
  non-compliance (no IMR in the TAU arm) this is the ITT effect divided by the proportion of compliers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from trialdesk.errors import UserError
from trialdesk.stats.imputation import Imputation
from trialdesk.stats.pooling import pool
from trialdesk.stats.results import ModelResult

Fit = Callable[[pd.DataFrame], ModelResult]


def _row(analysis: str, result: ModelResult, term: str, **details: object) -> dict[str, object]:
    try:
        coef = result.coef(term)
    except KeyError as problem:
        raise UserError(str(problem)) from None
    return {"analysis": analysis, "term": term, "estimate": float(coef["estimate"]), "se": float(coef["se"]),
            "ci_low": float(coef["ci_low"]), "ci_high": float(coef["ci_high"]), "p": float(coef["p"]),
            "nobs": result.nobs, "converged": result.converged, **details}


def _need(data: pd.DataFrame, *columns: str) -> None:
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise UserError(f"column(s) {absent} not in the data; columns are {list(data.columns)}")


def complete_case(data: pd.DataFrame, fit: Fit, *, outcome: str, term: str) -> dict[str, object]:
    _need(data, outcome)
    kept = data[data[outcome].notna()]
    return _row("complete case", fit(kept), term, n_excluded=len(data) - len(kept))


def per_protocol(data: pd.DataFrame, fit: Fit, *, outcome: str, term: str, arm: str, treatment: str,
                 completer: str) -> dict[str, object]:
    """Control arm plus treatment-arm participants flagged as completers (observed outcomes only)."""
    _need(data, outcome, arm, completer)
    in_treatment = data[arm] == treatment
    flag = data[completer].fillna(False).astype(bool)
    kept = data[(~in_treatment | flag) & data[outcome].notna()]
    return _row("per protocol", fit(kept), term, n_excluded=len(data) - len(kept),
                non_completers=int((in_treatment & ~flag).sum()))


def best_worst(data: pd.DataFrame, fit: Fit, *, outcome: str, term: str, arm: str, treatment: str,
               higher_is_better: bool = True, spread: float = 2.0,
               bounds: tuple[float, float] | None = None) -> list[dict[str, object]]:
    """Best–worst and worst–best case single imputations of the missing outcomes."""
    _need(data, outcome, arm)
    rows = []
    for label, treatment_good in (("best-worst case", True), ("worst-best case", False)):
        frame = data.copy()
        for level, group in data.groupby(arm):
            observed = group[outcome].dropna()
            if len(observed) < 2:
                raise UserError(f"arm {level!r} has {len(observed)} observed {outcome!r}; need at least 2")
            good_for_arm = treatment_good if level == treatment else not treatment_good
            sign = 1 if good_for_arm == higher_is_better else -1
            value = observed.mean() + sign * spread * observed.std(ddof=1)
            if bounds is not None:
                value = float(np.clip(value, *bounds))
            missing = group.index[group[outcome].isna()]
            frame.loc[missing, outcome] = value
        rows.append(_row(label, fit(frame), term, spread_sd=spread,
                         n_imputed=int(data[outcome].isna().sum())))
    return rows


def tipping_point(imputation: Imputation, fit: Fit, *, outcome: str, term: str, arm: str, treatment: str,
                  deltas: Sequence[float], alpha: float = 0.05) -> pd.DataFrame:
    """Shift imputed ``outcome`` values in the treatment arm by each δ, refit and pool.

    Columns: ``delta, estimate, se, ci_low, ci_high, p, significant, tipping``; ``tipping`` marks the
    first δ (in the order given) at which significance differs from that at the first δ.
    """
    if outcome not in imputation.missing:
        raise UserError(f"{outcome!r} has no imputed values; nothing to shift")
    rows_missing = imputation.missing[outcome]
    in_treatment = (imputation.data[arm].to_numpy()[rows_missing] == treatment)
    records = []
    for delta in deltas:
        fits = []
        for i in range(imputation.m):
            frame = imputation.complete(i)
            column = frame[outcome].to_numpy(float, copy=True)
            column[rows_missing[in_treatment]] += delta
            frame[outcome] = column
            fits.append(fit(frame))
        pooled = pool(fits)
        row = _row("delta-adjusted", pooled, term, delta=float(delta))
        records.append(row)
    table = pd.DataFrame(records)
    table["significant"] = table["p"] < alpha
    first = bool(table["significant"].iloc[0]) if len(table) else False
    flips = np.flatnonzero(table["significant"].to_numpy() != first)
    table["tipping"] = False
    if len(flips):
        table.loc[table.index[flips[0]], "tipping"] = True
    return table


def cace(data: pd.DataFrame, *, outcome: str, arm: str, treatment: str, attendance: str, threshold: float,
         covariates: Sequence[str] = (), level: float = 0.95) -> dict[str, object]:
    """Complier average causal effect by 2SLS, with randomisation instrumenting receipt of treatment.

    Receipt = treatment arm and ``attendance >= threshold`` (e.g. proportion of sessions attended).
    Rows with a missing outcome are dropped (complete case); HC0-robust SE from the 2SLS residuals.
    """
    _need(data, outcome, arm, attendance, *covariates)
    rows = data.dropna(subset=[outcome, *covariates])
    z = (rows[arm] == treatment).to_numpy(float)
    if z.min() == z.max():
        raise UserError(f"complier effect needs both arms; {arm!r} has only {rows[arm].iloc[0]!r}")
    received = (z == 1) & (rows[attendance].fillna(0).to_numpy(float) >= threshold)
    d = received.astype(float)
    y = rows[outcome].to_numpy(float)
    cov = rows[list(covariates)].to_numpy(float) if covariates else np.empty((len(rows), 0))
    X = np.column_stack([np.ones(len(rows)), d, cov])
    Z = np.column_stack([np.ones(len(rows)), z, cov])
    compliance = float(d[z == 1].mean())
    if compliance == 0:
        raise UserError(f"no participant in arm {treatment!r} reached {attendance} >= {threshold}: "
                        "the complier effect is undefined")
    zx_inv = np.linalg.inv(Z.T @ X)
    beta = zx_inv @ (Z.T @ y)
    resid = y - X @ beta
    meat = (Z * resid[:, None] ** 2).T @ Z
    vcov = zx_inv @ meat @ zx_inv.T
    se = float(np.sqrt(vcov[1, 1]))
    q = float(sps.norm.ppf(0.5 + level / 2))
    est = float(beta[1])
    return {"analysis": "complier average causal effect", "term": f"received {treatment}", "estimate": est,
            "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
            "p": float(2 * sps.norm.sf(abs(est / se))), "nobs": len(rows), "converged": True,
            "compliance": compliance, "threshold": threshold}


def sensitivity_analyses(data: pd.DataFrame, fit: Fit, *, outcome: str, term: str, arm: str, treatment: str,
                         completer: str | None = None, higher_is_better: bool = True, spread: float = 2.0,
                         bounds: tuple[float, float] | None = None, imputation: Imputation | None = None,
                         deltas: Sequence[float] = (), attendance: str | None = None,
                         threshold: float | None = None) -> pd.DataFrame:
    """Run every sensitivity analysis that the arguments allow; one tidy row each."""
    rows: list[dict[str, object]] = [complete_case(data, fit, outcome=outcome, term=term)]
    if completer is not None:
        rows.append(per_protocol(data, fit, outcome=outcome, term=term, arm=arm, treatment=treatment,
                                 completer=completer))
    rows += best_worst(data, fit, outcome=outcome, term=term, arm=arm, treatment=treatment,
                       higher_is_better=higher_is_better, spread=spread, bounds=bounds)
    if imputation is not None and len(deltas):
        table = tipping_point(imputation, fit, outcome=outcome, term=term, arm=arm, treatment=treatment,
                              deltas=deltas)
        rows += [{str(k): v for k, v in record.items()} for record in table.to_dict(orient="records")]
    if attendance is not None and threshold is not None:
        rows.append(cace(data, outcome=outcome, arm=arm, treatment=treatment, attendance=attendance,
                         threshold=threshold))
    return pd.DataFrame(rows)
