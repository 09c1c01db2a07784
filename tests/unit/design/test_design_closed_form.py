"""Closed-form designs: identities from the cited papers and textbook normal-approximation formulas.

R-agreement of the t test and proportions is in tests/reference/design; here each design is tied to
those or to the published formula written out with its constants (z_0.975 = 1.959964,
z_0.8 = 0.8416212).
"""

from __future__ import annotations

import math

import pytest

from trialdesk.design import (
    design_effect,
    frison_pocock_factor,
    inflate_for_dropout,
    optimal_ratio,
    power_ancova,
    power_counts,
    power_partially_nested,
    power_prop_test,
    power_repeated_measures,
    power_t_test,
)
from trialdesk.errors import UserError

Z975 = 1.959963984540054
Z80 = 0.8416212335729143
# R: power.t.test(delta = 6, sd = 15, power = .8, tol = 1e-12)$n (tests/reference/design)
R_IMR_N = 99.080565009224


def normal_n(delta, sd):
    return 2 * (Z975 + Z80) ** 2 * sd**2 / delta**2


def test_t_power_rises_with_n_and_one_sided_needs_fewer():
    assert power_t_test(6, 15, n=50).power < power_t_test(6, 15, n=100).power
    assert power_t_test(6, 15, power=0.8, sides=1).n_per_arm < power_t_test(6, 15, power=0.8).n_per_arm


def test_t_two_sided_ignores_sign_of_delta():
    assert power_t_test(-6, 15, n=80).power == pytest.approx(power_t_test(6, 15, n=80).power, abs=1e-15)


def test_t_sd_13_power_90_needs_about_the_same_as_protocol():
    # imr-trial.md: "SD 13 with 90 % power gives the same number" (100 per arm after rounding up)
    assert power_t_test(6, 13, power=0.9).n_per_arm_rounded == 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": 6, "sd": -15, "power": 0.8}, "sd must be a positive number"),
        ({"delta": 6, "sd": 15, "power": 1.0}, "power must be strictly between 0 and 1"),
        ({"delta": 6, "sd": 15, "power": 0.0}, "power must be strictly between 0 and 1"),
        ({"delta": 6, "sd": 15}, "give exactly one of n"),
        ({"delta": 6, "sd": 15, "n": 50, "power": 0.8}, "give exactly one of n"),
        ({"delta": 0, "sd": 15, "power": 0.8}, "delta must be > 0 to solve for n"),
        ({"delta": 6, "sd": 15, "n": 1}, "n must be a number >= 2"),
        ({"delta": 60, "sd": 1, "power": 0.8}, "already reached with n = 2"),
        ({"delta": 6, "sd": 15, "power": 0.8, "dropout": 1.0}, "dropout must be in [0, 1)"),
    ],
)
def test_t_bad_inputs_are_user_errors(kwargs, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace(")", r"\)")):
        power_t_test(**kwargs)


def test_one_sided_wrong_direction_has_no_solution():
    with pytest.raises(UserError, match="delta must be > 0 to solve for n"):
        power_t_test(-1, 1, power=0.8, sides=1)
    with pytest.raises(UserError, match="cannot be reached with up to 1e"):
        power_t_test(1e-9, 1, power=0.8)


def test_prop_equal_proportions_have_no_solution():
    with pytest.raises(UserError, match="p1 and p2 are equal"):
        power_prop_test(0.3, 0.3, power=0.8)


def test_dropout_inflation():
    assert inflate_for_dropout(100, 0.2) == pytest.approx(125.0)
    result = power_t_test(6, 15, power=0.8, dropout=0.2)
    assert result.n_recruit_per_arm == pytest.approx(R_IMR_N / 0.8, abs=1e-7)
    assert result.to_dict()["n_recruit_total"] == pytest.approx(2 * R_IMR_N / 0.8, abs=1e-6)


# --- ANCOVA and repeated measures ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        # (rho, baselines p, follow-ups r), (post, change, ancova)
        ((0.5, 1, 1), (1.0, 1.0, 0.75)),
        ((0.6, 1, 1), (1.0, 0.8, 0.64)),
        ((0.5, 1, 2), (0.75, 0.75, 0.5)),  # (1 + .5)/2; .75 + 1 - 1; .75 - .25
        ((0.4, 2, 3), (0.6, 0.6 + 0.7 - 0.8, 0.6 - 2 * 0.16 / 1.4)),
    ],
)
def test_frison_pocock_factors(setting, expected):
    found = [frison_pocock_factor(*setting, method=method) for method in ("post", "change", "ancova")]
    assert found == pytest.approx(list(expected))


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.7])
def test_ancova_close_to_borm_formula(rho):
    # Borm et al. 2007: n_ancova = (1 - rho^2) n_ttest (large-sample); ours uses the t and 2n - 3 df
    ancova = power_ancova(6, 15, rho, power=0.8).n_per_arm
    assert ancova == pytest.approx((1 - rho**2) * normal_n(6, 15), abs=1.5)
    assert ancova < power_t_test(6, 15, power=0.8).n_per_arm


def test_ancova_rho_zero_costs_one_degree_of_freedom_only():
    ancova = power_ancova(6, 15, 0.0, power=0.8).n_per_arm
    assert R_IMR_N < ancova < R_IMR_N + 0.05


def test_repeated_post_with_one_follow_up_is_the_t_test():
    result = power_repeated_measures(6, 15, 0.5, n_followup=1, method="post", power=0.8)
    assert result.n_per_arm == pytest.approx(R_IMR_N, abs=1e-7)


def test_ancova_rejects_bad_rho():
    with pytest.raises(UserError, match="rho must be strictly between -1 and 1"):
        power_ancova(6, 15, 1.0, power=0.8)


# --- partially nested --------------------------------------------------------------------------------

def test_design_effect_and_optimal_ratio():
    assert design_effect(10, 0.05) == pytest.approx(1.45)
    assert optimal_ratio(10, 0.05) == pytest.approx(math.sqrt(1.45))
    assert optimal_ratio(10, 0.05, sd_intervention=2, sd_control=1) == pytest.approx(2 * math.sqrt(1.45))


def test_pnm_without_clustering_is_power_t_test():
    result = power_partially_nested(6, 15, 0.0, 10, power=0.8)
    assert result.n_per_arm == pytest.approx(R_IMR_N, abs=1e-7)
    # R power.t.test(delta = 6, sd = 15, n = 100)$power, tests/reference/design
    assert power_partially_nested(6, 15, 0.0, 10, n=100).power == pytest.approx(0.803646604876676, abs=1e-9)


@pytest.mark.parametrize("icc", [0.02, 0.05, 0.1])
def test_pnm_close_to_normal_formula(icc):
    # Roberts & Roberts 2005: Var = sigma^2 (DE / n1 + 1 / n0);
    # at 1:1, n = (z + z)^2 sigma^2 (DE + 1) / delta^2
    de = 1 + 9 * icc
    expected = (Z975 + Z80) ** 2 * 15**2 * (de + 1) / 6**2
    result = power_partially_nested(6, 15, icc, 10, power=0.8)
    # the t with ~13-15 groups (Satterthwaite df ~ 20-60) costs a few per cent over the z formula
    assert expected < result.n_per_arm < 1.08 * expected


def test_pnm_optimal_ratio_needs_fewer_in_total():
    equal = power_partially_nested(6, 15, 0.05, 10, power=0.8)
    best = power_partially_nested(6, 15, 0.05, 10, power=0.8, ratio=None)
    assert best.n_by_arm["intervention"] / best.n_by_arm["control"] == pytest.approx(math.sqrt(1.45))
    assert best.n_total < equal.n_total


def test_pnm_rejects_icc_of_one_and_too_few_groups():
    with pytest.raises(UserError, match=r"icc must be in \[0, 1\)"):
        power_partially_nested(6, 15, 1.0, 10, power=0.8)
    with pytest.raises(UserError, match="fewer than 2 groups"):
        power_partially_nested(6, 15, 0.05, 10, n=12)


# --- counts ----------------------------------------------------------------------------------------

def test_poisson_true_variance_matches_textbook_formula():
    # approach 2, k = 0, r = 1, t = 1: n = (z + z)^2 (1/mu0 + 1/mu1) / log(mu1/mu0)^2
    expected = (Z975 + Z80) ** 2 * (1 / 2.0 + 1 / 1.5) / math.log(0.75) ** 2
    assert power_counts(2.0, 1.5, approach=2, power=0.8).n_per_arm == pytest.approx(expected, rel=1e-9)


def test_overdispersion_needs_more_participants():
    poisson = power_counts(2.0, 1.5, power=0.8).n_per_arm
    negbin = power_counts(2.0, 1.5, dispersion=0.8, power=0.8)
    assert negbin.n_per_arm > poisson
    assert negbin.power == pytest.approx(0.8, abs=1e-12)


def test_counts_bad_inputs():
    with pytest.raises(UserError, match="mu0 and mu1 are equal"):
        power_counts(1.0, 1.0, power=0.8)
    with pytest.raises(UserError, match="dispersion must be >= 0"):
        power_counts(1.0, 0.5, dispersion=-1, power=0.8)
