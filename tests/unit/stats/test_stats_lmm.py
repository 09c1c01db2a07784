"""Linear mixed models: exact textbook identities and an independent fit (statsmodels) on small data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from trialdesk.errors import UserError
from trialdesk.stats.lmm import fit_lmm


def _balanced(groups: int = 12, per: int = 4, tau: float = 9.0, sigma: float = 4.0,
              seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    arm = np.where(g % 2 == 0, "IMR", "TAU")
    y = 50 + 2.0 * (arm == "TAU") + rng.normal(0, np.sqrt(tau), groups)[g] + rng.normal(0, sigma, g.size)
    return pd.DataFrame({"id": g, "arm": arm, "y": y, "t": np.tile(np.arange(per), groups)})


def test_balanced_one_way_reml_equals_anova_estimators():
    # Searle, Casella & McCulloch (1992), Variance Components, 3.7 / 6.6: in a balanced one-way layout
    # REML gives sigma^2 = MSW and tau^2 = (MSB - MSW) / n when that is positive.
    data = _balanced()
    result = fit_lmm(data, "y ~ 1", "id")
    groups = data.groupby("id")["y"]
    n, a = 4, 12
    msw = ((data["y"] - groups.transform("mean")) ** 2).sum() / (a * (n - 1))
    msb = n * ((groups.mean() - data["y"].mean()) ** 2).sum() / (a - 1)
    assert msb > msw
    assert result.variance_components["Residual"] == pytest.approx(msw, rel=1e-8)
    assert result.variance_components["id (Intercept)"] == pytest.approx((msb - msw) / n, rel=1e-7)
    # The mean's SE is sqrt(MSB / (a n)) with a - 1 df (the between-group stratum).
    row = result.coef("Intercept")
    assert row["se"] == pytest.approx(np.sqrt(msb / (a * n)), rel=1e-7)
    assert row["df"] == pytest.approx(a - 1, rel=1e-6)


def test_between_group_arm_effect_has_groups_minus_two_df():
    result = fit_lmm(_balanced(), "y ~ arm", "id")
    assert result.coef("arm[T.TAU]")["df"] == pytest.approx(12 - 2, rel=1e-6)


def test_ml_agrees_with_statsmodels_mixedlm_on_unbalanced_data():
    data = _balanced(groups=30, seed=11).sample(frac=0.8, random_state=2).sort_values("id")
    ours = fit_lmm(data, "y ~ arm + t", "id", method="ML")
    theirs = smf.mixedlm("y ~ arm + t", data, groups="id").fit(reml=False, method="bfgs")
    np.testing.assert_allclose(ours.coefficients["estimate"], theirs.fe_params.values, rtol=1e-5)
    assert ours.variance_components["Residual"] == pytest.approx(theirs.scale, rel=1e-4)
    group_variance = float(theirs.cov_re.iloc[0, 0])
    assert ours.variance_components["id (Intercept)"] == pytest.approx(group_variance, rel=1e-4)
    assert ours.loglik == pytest.approx(theirs.llf, rel=1e-8)


def test_zero_group_variance_is_reported_as_singular():
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"id": np.repeat(np.arange(10), 3), "y": rng.normal(0, 1, 30)})
    data["y"] -= data.groupby("id")["y"].transform("mean") * 1.5  # group means pulled below noise level
    result = fit_lmm(data, "y ~ 1", "id")
    assert result.variance_components["id (Intercept)"] == 0.0
    assert any("singular fit" in m for m in result.messages)


def test_random_slope_result_has_correlation_and_theta():
    data = _balanced(groups=20)
    data["y"] += np.repeat(np.random.default_rng(1).normal(0, 1, 20), 4) * data["t"]
    result = fit_lmm(data, "y ~ t + (t | id)")
    assert set(result.variance_components) == {"id (Intercept)", "id t", "id cov((Intercept), t)",
                                               "id corr((Intercept), t)", "Residual"}
    assert len(result.extra["theta"]) == 3
    assert result.converged


def test_mixed_model_needs_a_group():
    with pytest.raises(UserError, match="needs a grouping column"):
        fit_lmm(_balanced(), "y ~ arm")
    with pytest.raises(UserError, match="only 1 group"):
        fit_lmm(_balanced().assign(id=1), "y ~ arm", "id")
