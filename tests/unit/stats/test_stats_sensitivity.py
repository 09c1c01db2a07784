"""Sensitivity analyses: each checked against what it must do by construction."""

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.glm import fit_glm
from trialdesk.stats.imputation import impute
from trialdesk.stats.sensitivity import best_worst, cace, per_protocol, sensitivity_analyses, tipping_point

TERM = "arm[T.TAU]"


def _fit(frame: pd.DataFrame):
    return fit_glm(frame, "gaf ~ arm + base", family="gaussian")


@pytest.fixture
def trial() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    n = 120
    arm = np.repeat(["IMR", "TAU"], n // 2)
    base = rng.normal(45, 10, n)
    attendance = np.where(arm == "IMR", rng.uniform(0, 1, n), 0.0)
    gaf = 10 + 0.8 * base + 4 * (arm == "IMR") * (attendance >= 0.5) + rng.normal(0, 6, n)
    gaf[rng.random(n) < 0.25] = np.nan
    return pd.DataFrame({"arm": arm, "base": base, "gaf": gaf, "attendance": attendance,
                         "completer": attendance >= 0.5})


def test_cace_equals_itt_over_compliance_without_covariates(trial: pd.DataFrame) -> None:
    result = cace(trial, outcome="gaf", arm="arm", treatment="IMR", attendance="attendance", threshold=0.5)
    rows = trial.dropna(subset=["gaf"])
    itt = rows.loc[rows.arm == "IMR", "gaf"].mean() - rows.loc[rows.arm == "TAU", "gaf"].mean()
    compliance = (rows.loc[rows.arm == "IMR", "attendance"] >= 0.5).mean()
    assert result["estimate"] == pytest.approx(itt / compliance, rel=1e-10)  # Wald estimator
    assert result["compliance"] == pytest.approx(compliance)
    assert result["ci_low"] < result["estimate"] < result["ci_high"]


def test_per_protocol_drops_only_treatment_non_completers(trial: pd.DataFrame) -> None:
    row = per_protocol(trial, _fit, outcome="gaf", term=TERM, arm="arm", treatment="IMR",
                       completer="completer")
    expected = int((trial.gaf.notna() & ((trial.arm == "TAU") | trial.completer)).sum())
    assert row["nobs"] == expected


def test_best_worst_brackets_complete_case(trial: pd.DataFrame) -> None:
    best, worst = best_worst(trial, _fit, outcome="gaf", term=TERM, arm="arm", treatment="IMR")
    complete = _fit(trial.dropna(subset=["gaf"])).coef(TERM)["estimate"]
    # TAU − IMR: favouring IMR lowers it, disfavouring IMR raises it
    assert best["estimate"] < complete < worst["estimate"]
    assert best["nobs"] == len(trial)


def test_tipping_point_moves_estimate_by_delta_share(trial: pd.DataFrame) -> None:
    imputation = impute(trial, ["gaf"], predictors=["base"], m=5, seed=3, by="arm")
    table = tipping_point(imputation, _fit, outcome="gaf", term=TERM, arm="arm", treatment="IMR",
                          deltas=[0.0, -5.0, -10.0])
    share = (trial.arm.iloc[imputation.missing["gaf"]] == "IMR").sum() / (trial.arm == "IMR").sum()
    # shifting imputed IMR outcomes by δ moves the adjusted TAU − IMR difference by about −δ × share imputed
    step = table["estimate"].iloc[1] - table["estimate"].iloc[0]
    assert step == pytest.approx(5.0 * share, rel=0.25)
    assert table["tipping"].sum() <= 1


def test_runner_and_errors(trial: pd.DataFrame) -> None:
    table = sensitivity_analyses(trial, _fit, outcome="gaf", term=TERM, arm="arm", treatment="IMR",
                                 completer="completer", attendance="attendance", threshold=0.5)
    assert list(table["analysis"]) == ["complete case", "per protocol", "best-worst case", "worst-best case",
                                       "complier average causal effect"]
    with pytest.raises(UserError, match="no term"):
        sensitivity_analyses(trial, _fit, outcome="gaf", term="arm[T.X]", arm="arm", treatment="IMR")
    with pytest.raises(UserError, match="undefined"):
        cace(trial, outcome="gaf", arm="arm", treatment="IMR", attendance="attendance", threshold=2.0)
