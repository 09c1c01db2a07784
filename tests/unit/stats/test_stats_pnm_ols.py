"""Partially nested model and OLS: identities and bad input (reference values are in tests/reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.ols import fit_ols
from trialdesk.stats.pnm import fit_pnm


@pytest.fixture
def pnm_data() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    groups = np.repeat([f"G{i}" for i in range(8)], 8)
    u = dict(zip(sorted(set(groups)), rng.normal(0, 4, 8), strict=True))
    imr = pd.DataFrame({"arm": "IMR", "group": groups,
                        "y": 50 + np.array([u[g] for g in groups]) + rng.normal(0, 8, 64)})
    tau = pd.DataFrame({"arm": "TAU", "group": None, "y": 47 + rng.normal(0, 11, 64)})
    return pd.concat([imr, tau], ignore_index=True)


def test_pnm_infers_the_grouped_arm_and_reports_icc(pnm_data):
    result = fit_pnm(pnm_data, "y ~ arm", group="group", arm="arm")
    vc = result.variance_components
    assert result.extra["treated_arm"] == "IMR"
    assert result.ngroups == 8
    tau, residual = vc["group (IMR arm)"], vc["Residual (IMR)"]
    assert result.extra["icc"] == pytest.approx(tau / (tau + residual))
    # With no covariates the TAU residual variance is that arm's sample variance (REML, divisor n - 1).
    assert vc["Residual (TAU)"] == pytest.approx(pnm_data.loc[pnm_data.arm == "TAU", "y"].var(), rel=1e-6)
    assert result.coef("arm[T.TAU]")["estimate"] == pytest.approx(
        pnm_data.loc[pnm_data.arm == "TAU", "y"].mean() - result.coef("Intercept")["estimate"], rel=1e-9)


def test_pnm_refuses_a_treated_participant_without_group(pnm_data):
    pnm_data.loc[3, "group"] = None
    with pytest.raises(UserError, match="row 3: a participant in the IMR arm has no 'group'"):
        fit_pnm(pnm_data, "y ~ arm", group="group", arm="arm")


def test_pnm_needs_two_arms(pnm_data):
    with pytest.raises(UserError, match="exactly two arms"):
        fit_pnm(pnm_data[pnm_data.arm == "IMR"], "y ~ 1", group="group", arm="arm")


def test_ols_hc3_matches_the_textbook_formula():
    # HC3 (MacKinnon & White 1985): (X'X)^-1 X' diag(e_i^2 / (1 - h_i)^2) X (X'X)^-1.
    rng = np.random.default_rng(8)
    x = rng.normal(size=30)
    y = 1 + 2 * x + rng.normal(size=30) * (1 + x**2)
    data = pd.DataFrame({"x": x, "arm": np.tile(["IMR", "TAU"], 15), "y": y})
    result = fit_ols(data, "y ~ x + arm", se="HC3")
    X = np.column_stack([np.ones(30), data["arm"] == "TAU", x]).astype(float)
    beta = np.linalg.lstsq(X, data["y"].to_numpy(), rcond=None)[0]
    e = data["y"].to_numpy() - X @ beta
    bread = np.linalg.inv(X.T @ X)
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    V = bread @ (X.T * (e**2 / (1 - h) ** 2)) @ X @ bread
    np.testing.assert_allclose(result.coefficients["estimate"], beta, rtol=1e-10)
    np.testing.assert_allclose(result.coefficients["se"], np.sqrt(np.diag(V)), rtol=1e-10)
    assert (result.coefficients["df"] == 27).all()


def test_ols_refuses_unknown_se_type():
    data = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [1.0, 3, 2, 5]})
    with pytest.raises(UserError, match="classical or HC3"):
        fit_ols(data, "y ~ x", se="HC1")  # type: ignore[arg-type]
