"""Bad input and flags of the GLM / negative binomial fits (numbers are checked in tests/reference)."""

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.glm import fit_glm, fit_nb


@pytest.fixture
def counts() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 120
    arm = np.repeat(["IMR", "TAU"], n // 2)
    months = rng.uniform(6, 12, n)
    y = rng.poisson(np.exp(-1.0 + 0.4 * (arm == "IMR")) * months)
    return pd.DataFrame({"arm": arm, "months": months, "admissions": y, "site": rng.choice(["A", "B"], n),
                         "binary": (y > 3).astype(int)})


def test_missing_column_is_named(counts: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="'age'"):
        fit_glm(counts, "admissions ~ arm + age")


def test_formula_that_does_not_parse(counts: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="does not parse"):
        fit_glm(counts, "admissions ~ arm +")


def test_non_numeric_outcome(counts: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="not numeric"):
        fit_glm(counts, "site ~ arm")


def test_negative_counts_refused_for_poisson_and_nb(counts: pd.DataFrame) -> None:
    bad = counts.assign(admissions=counts["admissions"] - 5)
    with pytest.raises(UserError, match="negative counts"):
        fit_glm(bad, "admissions ~ arm")
    with pytest.raises(UserError, match="negative counts"):
        fit_nb(bad, "admissions ~ arm")


def test_logistic_needs_zero_one(counts: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="0/1"):
        fit_glm(counts, "admissions ~ arm", family="binomial")


def test_constant_outcome_and_unknown_family(counts: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="constant"):
        fit_glm(counts.assign(admissions=2), "admissions ~ arm")
    with pytest.raises(UserError, match="family"):
        fit_glm(counts, "admissions ~ arm", family="gamma")


def test_offset_with_missing_column_and_zero_time(counts: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="'years'"):
        fit_glm(counts, "admissions ~ arm", offset="log(years)")
    with np.errstate(divide="ignore"), pytest.raises(UserError, match="infinite"):
        fit_glm(counts.assign(months=0.0), "admissions ~ arm", offset="log(months)")


def test_offset_changes_the_rate_scale(counts: pd.DataFrame) -> None:
    fit = fit_glm(counts, "admissions ~ arm", offset="log(months)")
    # with months as exposure the intercept is a log rate per month (true -1.0 + 0.4 for IMR as reference)
    assert fit.coef("Intercept")["estimate"] == pytest.approx(-0.6, abs=0.2)
    assert fit.tables["rate_ratios"].set_index("term").loc["arm[T.TAU]", "rate_ratio"] < 1
    assert fit.to_dict()["coefficients"][0]["term"] == "Intercept"


def test_separation_is_flagged_not_silent() -> None:
    data = pd.DataFrame({"y": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1, 2, 3, 4, 5, 6, 7, 8]})
    fit = fit_glm(data, "y ~ x", family="binomial")
    assert not fit.converged
    assert fit.messages


def test_nb_without_overdispersion_is_flagged() -> None:
    rng = np.random.default_rng(11)
    data = pd.DataFrame({"y": rng.poisson(3.0, 400), "x": rng.normal(size=400)})
    fit = fit_nb(data, "y ~ x")
    # Poisson data: theta runs off towards infinity; the result says so instead of printing a number
    assert (not fit.converged and fit.messages) or fit.theta > 50


def test_nb_result_has_theta_in_json(counts: pd.DataFrame) -> None:
    fit = fit_nb(counts, "admissions ~ arm", offset="log(months)")
    payload = fit.to_dict()
    assert payload["model"] == "nb"
    assert payload["theta"] == fit.theta
    assert "rate_ratios" in payload
