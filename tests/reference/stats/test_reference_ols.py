"""ANCOVA against R 4.2.2 ``lm`` and sandwich 3.0 ``vcovHC(type = "HC3")`` (r/btheb.R, tag ancova).

Data: Beat the Blues trial (HSAUR3::BtheB), BDI at 8 months on baseline BDI, arm, drug and length of
episode; 52 complete cases.
"""

from __future__ import annotations

import pytest

from trialdesk.stats.ols import fit_ols

FORMULA = "Q('bdi.8m') ~ Q('bdi.pre') + C(treatment, Treatment('TAU')) + drug + length"
R_NAMES = {"Intercept": "(Intercept)", "Q('bdi.pre')": "bdi.pre",
           "C(treatment, Treatment('TAU'))[T.BtheB]": "treatmentBtheB", "drug[T.Yes]": "drugYes",
           "length[T.>6m]": "length>6m"}


@pytest.mark.parametrize(("se", "tag"), [("classical", "ancova"), ("HC3", "ancova_hc3")])
def test_ancova_matches_lm(se, tag, r_output, reference_data):
    ref = r_output("btheb")
    result = fit_ols(reference_data("btheb_wide"), FORMULA, se=se)
    assert result.nobs == 52
    for row in result.coefficients.itertuples():
        name = R_NAMES[row.term]
        assert row.estimate == pytest.approx(ref[("ancova", "est", name)], rel=1e-9)
        assert row.se == pytest.approx(ref[(tag, "se", name)], rel=1e-9)
        assert row.df == 47
    assert result.extra["sigma"] == pytest.approx(ref[("ancova", "sigma", "")], rel=1e-9)
    assert result.extra["r_squared"] == pytest.approx(ref[("ancova", "r2", "")], rel=1e-9)
    assert result.loglik == pytest.approx(ref[("ancova", "loglik", "")], rel=1e-10)
    assert result.aic == pytest.approx(ref[("ancova", "aic", "")], rel=1e-10)
    assert result.bic == pytest.approx(ref[("ancova", "bic", "")], rel=1e-10)
