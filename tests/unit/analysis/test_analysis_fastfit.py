"""The prebuilt-design refits and the arm means agree with the statistics engine's own fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


@pytest.mark.parametrize("psi", [(12.0, 90.0, 130.0), (1e-9, 95.0, 135.0), (40.0, 60.0, 200.0)])
def test_pnm_likelihood_equals_the_block_likelihood(data, psi):
    """Deviance, gradient, observed Hessian and expected information from group sums, against the
    general block computation (one inverse per therapy group) of trialdesk.stats.reml."""
    from trialdesk.analysis.fastfit import PnmLikelihood
    from trialdesk.stats.pnm import _PartiallyNested
    from trialdesk.stats.reml import GaussianBlocks, make_blocks

    design = PnmDesign(data, FORMULA, arm="arm", group="group", treated="IMR")
    y, X, _ = design.matrices(data)
    general = GaussianBlocks(make_blocks(design.codes, y, X, {"treated": design.d}), _PartiallyNested(), True)
    fast = PnmLikelihood(y, X, design.d, design.codes)
    point = np.array(psi)
    slow_ev, fast_ev = general.evaluate(point), fast.evaluate(point)
    assert fast_ev.deviance == pytest.approx(slow_ev.deviance, rel=1e-12)
    assert fast_ev.beta == pytest.approx(slow_ev.beta, rel=1e-10)
    assert fast.gradient(fast_ev) == pytest.approx(general.gradient(slow_ev), rel=1e-8, abs=1e-12)
    slow_second, fast_second = general.second_order(slow_ev), fast.second_order(fast_ev)
    for key in ("hessian", "expected", "P", "C"):
        assert fast_second[key] == pytest.approx(slow_second[key], rel=1e-8, abs=1e-14)


def test_pnm_likelihood_refuses_a_non_positive_variance(data):
    from trialdesk.analysis.fastfit import PnmLikelihood

    design = PnmDesign(data, FORMULA, arm="arm", group="group", treated="IMR")
    y, X, _ = design.matrices(data)
    assert not PnmLikelihood(y, X, design.d, design.codes).evaluate(np.array([1.0, 0.0, 5.0])).ok


def test_pooled_fit_from_columns_equals_the_frame_path(protocol, tables):
    """Refits fed outcome and baseline columns give the very numbers of refits on whole frames."""
    from trialdesk.analysis.primary import PrimaryModel, imputation_for, pooled_fit

    frame = frames.itt(tables)
    arms = frames.arms_of(frame, protocol, tables)
    wide = frames.with_scores(frame, tables, "gaf_f", "total", ["baseline", "m9", "m21"])
    plan = next(p for p in protocol.analysis.plans if "gaf_f_m9" in p.outcomes)
    imputation = imputation_for(wide, plan, ["baseline", "m9", "m21"], seed=3, m=4)

    def prepare_one(d):
        return fill_groups(prepare(d, "m9", "baseline"), arms)

    for shift in (None, ("m9", 2.5)):
        frames_path = pooled_fit(PrimaryModel(plan, arms), imputation, prepare_one, shift=shift)
        arrays_path = pooled_fit(
            PrimaryModel(plan, arms), imputation, prepare_one, shift=shift, columns=("m9", "baseline")
        )
        assert arrays_path == frames_path


def test_a_group_variance_on_its_boundary_is_found_there(data):
    """Outcomes with the group means taken out have no group variance: the refit puts tau at zero and
    its coefficients are fit_pnm's (which creeps towards zero by quasi-Newton); with the group effect
    left in, the boundary is refused (the deviance falls as tau leaves zero) and the fit is interior."""
    from trialdesk.analysis.fastfit import PnmLikelihood, on_boundary

    treated = data["arm"] == "IMR"
    flat = data["y"] - data.groupby("group")["y"].transform("mean").where(treated, 0.0)
    flat = data.assign(y=flat + np.where(treated, data.loc[treated, "y"].mean(), data["y"].mean()))
    reference = fit_pnm(flat, FORMULA, group="group", arm="arm", treated="IMR", df="none")
    assert reference.variance_components["group (IMR arm)"] < 1e-6
    design = PnmDesign(flat, FORMULA, arm="arm", group="group", treated="IMR")
    fit = design.fit(flat)
    assert design.psi is not None and design.psi[0] == 0.0
    for term, estimate, se in reference.coefficients[["term", "estimate", "se"]].itertuples(index=False):
        got, variance = fit.coef(term)
        assert got == pytest.approx(estimate, rel=1e-6, abs=1e-7)
        assert np.sqrt(variance) == pytest.approx(se, rel=1e-5)
    group_effect = pd.factorize(data["group"].astype(str))[0] % 7 * 3.0
    clustered = data.assign(y=data["y"] + np.where(treated, group_effect, 0.0))
    y, X, _ = design.matrices(clustered)
    assert on_boundary(PnmLikelihood(y, X, design.d, design.codes), np.array([80.0, 120.0])) is None
    design.fit(clustered)
    assert design.psi is not None and design.psi[0] > 1.0
