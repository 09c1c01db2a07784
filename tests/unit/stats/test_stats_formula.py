"""Formula handling: patsy coding and names, and every bad input as a UserError naming the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.formula import aliased_columns, build_design, reference_grid, split_formula


@pytest.fixture
def trial() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 40
    return pd.DataFrame({
        "gaf": rng.normal(45, 12, n),
        "gaf0": rng.normal(43, 11, n),
        "treatment": np.tile(["TAU", "IMR"], n // 2),
        "site": np.repeat(["Ballerup", "Frederiksberg"], n // 2),
        "visit": np.tile([9, 9, 21, 21], n // 4),
        "label": ["x"] * n,
    })


def test_reference_level_is_first_in_sorted_order(trial):
    design = build_design("gaf ~ treatment + gaf0", trial)
    assert design.terms == ["Intercept", "treatment[T.TAU]", "gaf0"]


def test_formula_can_name_the_reference_level(trial):
    design = build_design("gaf ~ C(treatment, Treatment('TAU'))", trial)
    assert design.terms == ["Intercept", "C(treatment, Treatment('TAU'))[T.IMR]"]
    assert design.X[:, 1].tolist() == (trial["treatment"] == "IMR").astype(float).tolist()


def test_nesting_expands_as_in_r(trial):
    design = build_design("gaf ~ site/(treatment + gaf0*visit)", trial)
    assert design.terms == [
        "Intercept", "site[T.Frederiksberg]", "site[Ballerup]:treatment[T.TAU]",
        "site[Frederiksberg]:treatment[T.TAU]", "site[Ballerup]:gaf0", "site[Frederiksberg]:gaf0",
        "site[Ballerup]:visit", "site[Frederiksberg]:visit", "site[Ballerup]:gaf0:visit",
        "site[Frederiksberg]:gaf0:visit",
    ]


def test_rows_missing_a_used_column_are_dropped(trial):
    trial.loc[[0, 5], "gaf0"] = np.nan
    trial.loc[7, "label"] = None  # not used: the row stays
    design = build_design("gaf ~ treatment + gaf0", trial)
    assert design.nobs == 38
    assert 7 in design.frame.index


@pytest.mark.parametrize(("formula", "message"), [
    ("gaf ~ treatment + gaff0", "column(s) gaff0 not in the data"),
    ("treatment ~ gaf0", "outcome column 'treatment' is not numeric"),
    ("gaf ~ (treatment +", "does not parse"),
    ("gaf treatment", "has no '~'"),
    ("gaf ~ label", "label has only one level (x)"),
])
def test_bad_formulas_are_user_errors(trial, formula, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_design(formula, trial)


def test_one_arm_only_is_named(trial):
    one_arm = trial[trial["treatment"] == "IMR"]
    with pytest.raises(UserError, match=r"treatment has only one level \(IMR\).*one arm only"):
        build_design("gaf ~ treatment + gaf0", one_arm)


def test_constant_outcome_is_refused(trial):
    trial["gaf"] = 50.0
    with pytest.raises(UserError, match="outcome 'gaf' is constant"):
        build_design("gaf ~ treatment", trial)


def test_singular_design_names_the_aliased_term(trial):
    trial["gaf0_twice"] = 2 * trial["gaf0"]
    with pytest.raises(UserError, match="singular design: gaf0_twice"):
        build_design("gaf ~ gaf0 + gaf0_twice", trial)


def test_aliased_columns_finds_linear_combinations():
    x = np.arange(6.0)
    X = np.column_stack([np.ones(6), x, 3 - 2 * x, x**2])
    assert aliased_columns(X, ["a", "b", "c", "d"]) == ["c"]


def test_split_formula_reads_lme4_and_mmrm_terms():
    parts = split_formula("y ~ x + (1 + days | id)")
    assert parts.fixed == "y ~ x"
    assert (parts.random.group, parts.random.slope, parts.random.intercept) == ("id", "days", True)
    parts = split_formula("y ~ arm * C(visit) + us(visit | id)")
    assert parts.fixed == "y ~ arm * C(visit)"
    covariance = parts.covariance
    assert (covariance.structure, covariance.visit, covariance.subject) == ("us", "visit", "id")
    assert split_formula("y ~ (0 + t | g)").random.intercept is False
    with pytest.raises(UserError, match="more than one random-effects term"):
        split_formula("y ~ (1 | a) + (1 | b)")


def test_reference_grid_weights_other_factors_equally(trial):
    design = build_design("gaf ~ gaf0 + site + treatment", trial)
    labels, L = reference_grid(design, ["treatment"])
    assert labels["treatment"].tolist() == ["IMR", "TAU"]
    # emmeans: covariate at its mean, site averaged with weight 1/2 whatever its frequencies.
    expected = np.array([[1.0, 0.5, 0.0, trial["gaf0"].mean()], [1.0, 0.5, 1.0, trial["gaf0"].mean()]])
    assert design.terms == ["Intercept", "site[T.Frederiksberg]", "treatment[T.TAU]", "gaf0"]
    np.testing.assert_allclose(L, expected, rtol=1e-12)
