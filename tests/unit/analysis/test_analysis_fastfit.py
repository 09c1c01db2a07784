"""The prebuilt-design refits and the arm means agree with the statistics engine's own fits."""

from __future__ import annotations

import numpy as np
import pytest

from trialdesk.analysis import frames
from trialdesk.analysis.fastfit import OlsDesign, PnmDesign
from trialdesk.analysis.pnm_means import arm_means
from trialdesk.analysis.primary import fill_groups, prepare
from trialdesk.stats import fit_ols, fit_pnm

FORMULA = "y ~ C(arm, Treatment('TAU')) + y0 + C(site, Sum) + C(diagnosis, Sum)"
TERM = "C(arm, Treatment('TAU'))[T.IMR]"


@pytest.fixture(scope="module")
def data(protocol, tables):
    frame = frames.itt(tables)
    arms = frames.arms_of(frame, protocol, tables)
    wide = frames.with_scores(frame, tables, "gaf_f", "total", ["baseline", "m9", "m21"])
    observed = fill_groups(prepare(wide, "m9", "baseline"), arms)
    return observed.dropna(subset=["y", "y0"]).reset_index(drop=True)


def test_pnm_design_refit_matches_fit_pnm(data):
    reference = fit_pnm(data, FORMULA, group="group", arm="arm", treated="IMR", df="none")
    shifted = data.assign(y=data["y"] + np.linspace(-3, 3, len(data)))
    design = PnmDesign(data, FORMULA, arm="arm", group="group", treated="IMR")
    for frame in (shifted, data):  # the second fit starts warm from the first one's optimum
        fit = design.fit(frame)
    for term, estimate, se in reference.coefficients[["term", "estimate", "se"]].itertuples(index=False):
        got, variance = fit.coef(term)
        assert got == pytest.approx(estimate, rel=1e-6, abs=1e-7)
        assert np.sqrt(variance) == pytest.approx(se, rel=1e-5)


def test_arm_means_use_the_fit_covariance(data):
    result = fit_pnm(data, FORMULA, group="group", arm="arm", treated="IMR", df="none")
    found = arm_means(result, data, FORMULA, arm="arm", group="group")
    # The GLS covariance rebuilt from the variance components has the fit's own SEs on its diagonal.
    assert np.sqrt(np.diag(found.vcov)) == pytest.approx(result.coefficients["se"].to_numpy(), rel=1e-6)
    coef = dict(zip(result.coefficients["term"], result.coefficients["estimate"], strict=True))
    # Sum-coded site and diagnosis: the equal-weight mean of the reference arm is b0 + b_y0 * mean(y0).
    tau_mean = coef["Intercept"] + coef["y0"] * data["y0"].mean()
    means = dict(zip(found.arms, found.estimate, strict=True))
    assert means["TAU"] == pytest.approx(tau_mean, rel=1e-9)
    assert means["IMR"] - means["TAU"] == pytest.approx(coef[TERM], rel=1e-9)
    assert found.n == {"IMR": int((data["arm"] == "IMR").sum()), "TAU": int((data["arm"] == "TAU").sum())}


def test_ols_design_matches_fit_ols(data):
    formula = "y ~ C(arm, Treatment('TAU')) + y0 + C(site) + C(diagnosis)"
    reference = fit_ols(data, formula)
    fit = OlsDesign(data, formula, arm="arm").fit(data)
    estimate, variance = fit.coef(TERM)
    assert estimate == pytest.approx(float(reference.coef(TERM)["estimate"]), rel=1e-9)
    assert np.sqrt(variance) == pytest.approx(float(reference.coef(TERM)["se"]), rel=1e-9)
