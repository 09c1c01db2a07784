"""Partially nested model against nlme 3.1-162 ``lme`` (r/pnm.R, output r/pnm.out).

The data (data/pnm_simulated.csv) are simulated by r/pnm.R: 96 IMR participants in 10 therapy groups
of 7-12, 96 TAU participants without groups. The reference fit is
``lme(gaf ~ arm + baseline + site, random = ~ 0 + imr | group, weights = varIdent(form = ~ 1 | arm))``
by REML, TAU participants being singleton groups whose random effect is switched off by imr = 0.
"""

from __future__ import annotations

import pytest

from trialdesk.stats.pnm import fit_pnm

R_NAMES = {"Intercept": "(Intercept)", "arm[T.TAU]": "armTAU", "baseline": "baseline",
           "site[T.Frederiksberg]": "siteFrederiksberg"}


def test_partially_nested_model_matches_lme(r_output, reference_data):
    ref = r_output("pnm")
    result = fit_pnm(reference_data("pnm_simulated"), "gaf ~ arm + baseline + site", group="group",
                     arm="arm", treated="IMR")
    assert result.converged
    assert result.nobs == 192
    assert result.ngroups == 10
    for row in result.coefficients.itertuples():
        name = R_NAMES[row.term]
        assert row.estimate == pytest.approx(ref[("pnm", "est", name)], rel=1e-6)
        assert row.se == pytest.approx(ref[("pnm", "se", name)], rel=1e-6)
    vc = result.variance_components
    assert vc["group (IMR arm)"] == pytest.approx(ref[("pnm", "vc", "group")], rel=1e-5)
    assert vc["Residual (IMR)"] == pytest.approx(ref[("pnm", "vc", "residual_IMR")], rel=1e-6)
    assert vc["Residual (TAU)"] == pytest.approx(ref[("pnm", "vc", "residual_TAU")], rel=1e-6)
    assert result.extra["icc"] == pytest.approx(ref[("pnm", "icc", "")], rel=1e-5)
    assert result.loglik == pytest.approx(ref[("pnm", "loglik", "")], rel=1e-10)
