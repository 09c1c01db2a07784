"""The vectorised simulator and the power runner: moments of the simulated data, reproducibility,
type I error of the right and of a deliberately wrong analysis, and agreement with the closed form.

Monte Carlo tolerances are stated per test (k standard errors of the simulated quantity).
"""

from __future__ import annotations

import numpy as np
import pytest

from trialdesk.design import power_ancova
from trialdesk.errors import UserError
from trialdesk.simulation import (
    build_layout,
    run_grid,
    scenario_from_protocol,
    scenario_grid,
    simulate_power,
    simulate_trials,
)


@pytest.fixture(scope="module")
def base():
    return scenario_from_protocol()


def test_scenario_reads_the_protocol(base):
    assert (base.n_control, base.n_intervention, base.group_size) == (100, 100, 10)
    assert (base.effect, base.sd, base.alpha) == (6.0, 15.0, 0.05)
    assert base.arm_codes == ("TAU", "IMR")
    assert base.visit_months == (9, 21)
    assert base.primary_visit == 0


def test_layout_groups_within_site_in_the_intervention_arm_only(base):
    layout = build_layout(base)
    assert layout.n_groups == 10
    assert (layout.group[~layout.intervention] == -1).all()
    sizes = np.bincount(layout.group[layout.intervention])
    assert sizes.tolist() == [10] * 10
    for group in range(10):
        assert np.unique(layout.site[layout.group == group]).size == 1
    for site in (0, 1):
        assert (layout.intervention & (layout.site == site)).sum() == 50


def test_simulated_moments_match_the_scenario(base):
    scenario = base.with_(icc=0.2, dropout=0.3, site_effect_sd=0.0, diagnosis_effect=0.0)
    trials = simulate_trials(scenario, 400, np.random.default_rng(3))
    control = ~trials.layout.intervention
    follow = trials.followup[0]
    # 400 x 100 control values: SD within 2 %, correlation with baseline within 0.02
    assert follow[:, control].std() == pytest.approx(15.0, rel=0.02)
    correlation = np.corrcoef(trials.baseline[:, control].ravel(), follow[:, control].ravel())[0, 1]
    assert correlation == pytest.approx(0.5, abs=0.02)
    # variance of the group effect: between-group variance of group means minus within / m
    group_effect = follow[:, trials.layout.intervention] - 6.0 - 41.0
    by_group = group_effect.reshape(400, 10, 10).mean(axis=2)
    sd_u2 = by_group.var(axis=1, ddof=1).mean() - 15.0**2 / 10
    assert sd_u2 == pytest.approx(scenario.sd_group**2, rel=0.15)
    # missing at the first follow-up: about 30 %, more often with a low baseline (MAR, slope -0.3)
    missing = ~trials.observed[0]
    assert missing.mean() == pytest.approx(0.3, abs=0.02)
    low = trials.baseline < 41.0
    assert missing[low].mean() > missing[~low].mean() + 0.05
    # monotone: missing at 9 months means missing at 21
    assert not (trials.observed[1] & ~trials.observed[0]).any()


def test_diagnosis_is_balanced_between_arms_within_site(base):
    trials = simulate_trials(base, 50, np.random.default_rng(5))
    layout = trials.layout
    for site in (0, 1):
        imr = trials.diagnosis[:, (layout.site == site) & layout.intervention].sum(axis=1)
        tau = trials.diagnosis[:, (layout.site == site) & ~layout.intervention].sum(axis=1)
        assert np.abs(imr - tau).max() <= 1


def test_same_seed_same_numbers_other_seed_other_numbers(base):
    first = simulate_power(base, 300, seed=11, analysis="ancova")
    again = simulate_power(base, 300, seed=11, analysis="ancova")
    other = simulate_power(base, 300, seed=12, analysis="ancova")
    assert first.to_dict() | {"seconds": 0} == again.to_dict() | {"seconds": 0}
    assert first.mean_estimate != other.mean_estimate


def test_primary_analysis_holds_type_i_error_and_ignoring_groups_does_not(base):
    # ICC 0.1 in groups of 10: the partially nested model holds 5 % within 3 MC SE (2000 trials,
    # MC SE 0.005); OLS ignoring the groups rejects about 10 % of the time (> 5 % + 4 MC SE)
    null = base.with_(effect=0.0, icc=0.1, dropout=0.2)
    right = simulate_power(null, 2000, seed=2, analysis="lmm")
    wrong = simulate_power(null, 2000, seed=2, analysis="ancova")
    assert abs(right.power - 0.05) < 3 * 0.0049
    assert wrong.power > 0.05 + 4 * 0.0049
    assert wrong.mean_se < 0.9 * wrong.empirical_sd  # the naive SE is too small
    assert right.mean_se == pytest.approx(right.empirical_sd, rel=0.08)


def test_primary_analysis_is_unbiased(base):
    result = simulate_power(base.with_(icc=0.1, dropout=0.3), 1000, seed=4, analysis="lmm")
    assert abs(result.bias) < 4 * result.bias_mc_se
    assert result.coverage == pytest.approx(0.95, abs=4 * np.sqrt(0.95 * 0.05 / 1000))


def test_simulated_ancova_power_matches_closed_form_without_clustering(base):
    # ICC 0, no dropout: power of ANCOVA with rho 0.5 and 100 per arm (closed form, Borm et al.);
    # the simulation also adjusts for site and diagnosis, which costs 3 df only
    expected = power_ancova(6, 15, 0.5, n=100).power
    result = simulate_power(base.with_(icc=0.0), 2000, seed=6, analysis="ancova")
    assert abs(result.power - expected) < 4 * result.mc_se


def test_grid_is_identical_on_dask_and_locally(base):
    scenarios = scenario_grid(base, effects=[0.0, 6.0], iccs=[0.05])
    local = run_grid(scenarios, 150, seed=9, analysis="ancova", progress=False)
    on_dask = run_grid(scenarios, 150, seed=9, analysis="ancova", dask=True, progress=False)
    assert local.to_dict() == on_dask.to_dict()
    assert local["effect"].tolist() == [0.0, 6.0]


def test_grid_scenario_uses_its_own_stream(base):
    scenarios = scenario_grid(base, effects=[6.0, 6.0])
    table = run_grid(scenarios, 100, seed=9, analysis="ancova", progress=False)
    assert table["bias"].iloc[0] != table["bias"].iloc[1]
    single = simulate_power(scenarios[1], 100, seed=9, analysis="ancova", scenario_index=1)
    assert table["bias"].iloc[1] == single.bias


def test_bad_inputs(base):
    with pytest.raises(UserError, match="n-sims must be at least 1"):
        simulate_power(base, 0)
    with pytest.raises(UserError, match="analysis must be one of"):
        simulate_power(base, 10, analysis="glm")
    with pytest.raises(UserError, match="scenario icc must be in"):
        base.with_(icc=1.2)
