"""MMRM: exact results on complete balanced data, agreement between equivalent models, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialdesk.errors import UserError
from trialdesk.stats.lmm import fit_lmm
from trialdesk.stats.mmrm import fit_mmrm


def _wide(n: int = 25, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cov = np.array([[100.0, 60, 40], [60, 120, 70], [40, 70, 150]])
    return rng.multivariate_normal([45, 48, 50], cov, n)


def _long(wide: np.ndarray) -> pd.DataFrame:
    n, t = wide.shape
    return pd.DataFrame({"id": np.repeat(np.arange(n), t), "visit": np.tile([0, 9, 21], n),
                         "y": wide.reshape(-1)})


def test_complete_data_unstructured_reml_is_the_sample_covariance():
    # With complete data and one mean per visit the REML estimate of an unstructured covariance is the
    # sample covariance (divisor n - 1), the LS means are the visit means, and KR df are n - 1.
    wide = _wide()
    result = fit_mmrm(_long(wide), "y ~ C(visit) + us(visit | id)")
    S = np.cov(wide, rowvar=False)
    vc = result.variance_components
    assert vc["var(0)"] == pytest.approx(S[0, 0], rel=1e-7)
    assert vc["cov(9,21)"] == pytest.approx(S[1, 2], rel=1e-7)
    assert vc["var(21)"] == pytest.approx(S[2, 2], rel=1e-7)
    means = result.tables["lsmeans"]
    np.testing.assert_allclose(means["estimate"], wide.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(means["se"], np.sqrt(np.diag(S) / 25), rtol=1e-7)
    np.testing.assert_allclose(means["df"], 24, rtol=1e-6)


def test_compound_symmetry_equals_the_random_intercept_model():
    data = _long(_wide(n=30, seed=9))
    data["arm"] = np.where(data["id"] % 2 == 0, "IMR", "TAU")
    mmrm = fit_mmrm(data, "y ~ arm * C(visit) + cs(visit | id)", arm="arm", df="satterthwaite")
    lmm = fit_lmm(data, "y ~ arm * C(visit)", "id")
    np.testing.assert_allclose(mmrm.coefficients["estimate"], lmm.coefficients["estimate"], rtol=1e-7)
    np.testing.assert_allclose(mmrm.coefficients["se"], lmm.coefficients["se"], rtol=1e-6)
    np.testing.assert_allclose(mmrm.coefficients["df"], lmm.coefficients["df"], rtol=1e-5)
    assert mmrm.loglik == pytest.approx(lmm.loglik, rel=1e-10)


def test_arm_effects_are_differences_of_lsmeans():
    data = _long(_wide(n=40, seed=2))
    data["arm"] = np.where(data["id"] < 20, "IMR", "TAU")
    data = data.drop(index=[5, 8, 50, 77]).reset_index(drop=True)  # dropout
    result = fit_mmrm(data, "y ~ arm * C(visit) + ar1(visit | id)", arm="arm")
    means = result.tables["lsmeans"].set_index(["arm", "visit"])["estimate"]
    effects = result.tables["arm_effects"].set_index("visit")
    for visit in (0, 9, 21):
        assert effects.loc[visit, "estimate"] == pytest.approx(means[("TAU", visit)] - means[("IMR", visit)])
        assert effects.loc[visit, "contrast"] == "TAU - IMR"
    assert result.converged


def test_a_visit_twice_for_one_subject_is_refused():
    data = _long(_wide(n=5))
    data.loc[1, "visit"] = 0
    with pytest.raises(UserError, match="has visit 0 more than once"):
        fit_mmrm(data, "y ~ C(visit) + us(visit | id)")


def test_mmrm_needs_visit_and_subject():
    with pytest.raises(UserError, match="needs the visit and subject"):
        fit_mmrm(_long(_wide(n=5)), "y ~ C(visit)")
    with pytest.raises(UserError, match="Kenward-Roger degrees of freedom need a REML fit"):
        fit_mmrm(_long(_wide(n=5)), "y ~ C(visit) + us(visit | id)", method="ML")
