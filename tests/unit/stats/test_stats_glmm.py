"""GLMM input checks and flags (numbers against lme4 are in tests/reference/stats)."""

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.glmm import fit_glmm


@pytest.fixture
def clustered() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(30), 6)
    effect = rng.normal(0, 0.7, 30)[groups]
    arm = np.where(groups % 2 == 0, "IMR", "TAU")
    y = rng.poisson(np.exp(0.5 + 0.3 * (arm == "IMR") + effect))
    return pd.DataFrame({"y": y, "arm": arm, "group": groups, "b": (y > 1).astype(int)})


def test_recovers_random_intercept_sd(clustered: pd.DataFrame) -> None:
    fit = fit_glmm(clustered, "y ~ arm", "group", family="poisson")
    assert fit.converged
    assert fit.ngroups == 30
    assert fit.extra["random_intercept_sd"] == pytest.approx(0.7, abs=0.3)
    assert set(fit.to_dict()["variance_components"]) == {"group (Intercept)"}


def test_quadrature_close_to_laplace_for_poisson(clustered: pd.DataFrame) -> None:
    laplace = fit_glmm(clustered, "y ~ arm", "group", family="poisson", nagq=1)
    agq = fit_glmm(clustered, "y ~ arm", "group", family="poisson", nagq=7)
    expected = laplace.coef("arm[T.TAU]")["estimate"]
    assert agq.coef("arm[T.TAU]")["estimate"] == pytest.approx(expected, abs=0.02)


def test_bad_input(clustered: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="group column"):
        fit_glmm(clustered, "y ~ arm", "cluster")
    with pytest.raises(UserError, match="nagq"):
        fit_glmm(clustered, "y ~ arm", "group", nagq=0)
    with pytest.raises(UserError, match="0/1"):
        fit_glmm(clustered, "y ~ arm", "group", family="binomial")
    with pytest.raises(UserError, match="at least 2"):
        fit_glmm(clustered.assign(group=1), "y ~ arm", "group")


def test_no_between_group_variation_is_reported_as_singular() -> None:
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"y": rng.poisson(2.0, 200), "group": np.repeat(np.arange(40), 5)})
    fit = fit_glmm(data, "y ~ 1", "group")
    if fit.extra["random_intercept_sd"] < 1e-4:
        assert any("singular" in m for m in fit.messages)
    else:
        assert fit.extra["random_intercept_sd"] < 0.3
