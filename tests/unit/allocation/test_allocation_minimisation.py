"""Pocock-Simon minimisation: hand-worked decisions, the random element, weights, ratios, errors."""

import numpy as np
import pytest

from trialdesk.allocation import AllocationScheme, Factor, MinimisationSettings, minimise
from trialdesk.allocation.minimisation import MarginalCounts, arm_probabilities, choose
from trialdesk.errors import UserError

TWO = AllocationScheme(("IMR", "TAU"), (1, 1), (Factor("site", ("BAL", "FRB")), Factor("dx", ("scz", "bip"))))
DETERMINISTIC = MinimisationSettings(probability=1.0)


def history(*rows):
    return [({"site": site, "dx": dx}, arm) for site, dx, arm in rows]


def test_single_clear_preference_hand_worked():
    # BAL has IMR 2, TAU 0; scz has IMR 1, TAU 1. A new BAL/scz participant:
    #   to IMR -> site range |3-0| = 3, dx range |2-1| = 1, total 4
    #   to TAU -> site range |2-1| = 1, dx range |1-2| = 1, total 2  => TAU preferred
    previous = history(("BAL", "scz", "IMR"), ("BAL", "bip", "IMR"), ("FRB", "scz", "TAU"))
    decision = minimise(previous, {"site": "BAL", "dx": "scz"}, TWO, np.random.default_rng(0), DETERMINISTIC)
    assert decision.scores == {"IMR": 4.0, "TAU": 2.0}
    assert decision.preferred == ("TAU",)
    assert decision.probabilities == {"IMR": 0.0, "TAU": 1.0}
    assert decision.arm == "TAU"


def test_factor_weights_decide_a_conflict():
    # BAL: IMR 1, TAU 0 (prefers TAU); scz: IMR 0, TAU 2 (prefers IMR).
    # to IMR: site 2, dx 1; to TAU: site 0, dx 3.  Equal weights tie (3 vs 3).
    previous = history(
        ("BAL", "bip", "IMR"), ("FRB", "scz", "TAU"), ("FRB", "scz", "TAU"), ("FRB", "bip", "IMR")
    )
    new = {"site": "BAL", "dx": "scz"}
    rng = np.random.default_rng(0)
    tie = minimise(previous, new, TWO, rng, DETERMINISTIC)
    assert tie.scores == {"IMR": 3.0, "TAU": 3.0}
    assert tie.preferred == ("IMR", "TAU")
    assert tie.probabilities == {"IMR": 0.5, "TAU": 0.5}
    site_heavy = MinimisationSettings(probability=1.0, weights={"site": 2})
    assert minimise(previous, new, TWO, rng, site_heavy).arm == "TAU"  # 5 vs 3
    dx_heavy = MinimisationSettings(probability=1.0, weights={"dx": 2})
    assert minimise(previous, new, TWO, rng, dx_heavy).arm == "IMR"  # 4 vs 6


def test_range_and_variance_can_disagree_with_three_arms():
    # History built so that for a new participant (f1=a, f2=x) the counts per arm (A, B, C) are
    # f1=a: (1, 0, 0) and f2=x: (0, 1, 1).
    scheme = AllocationScheme(
        ("A", "B", "C"), (1, 1, 1), (Factor("f1", ("a", "b")), Factor("f2", ("x", "y"))), (3,)
    )
    previous = [({"f1": "a", "f2": "y"}, "A"), ({"f1": "b", "f2": "x"}, "B"), ({"f1": "b", "f2": "x"}, "C")]
    new = {"f1": "a", "f2": "x"}
    rng = np.random.default_rng(0)
    by_range = minimise(previous, new, scheme, rng, MinimisationSettings(1.0, "range"))
    # range: A -> 2 + 0 = 2; B -> 1 + 2 = 3; C -> 1 + 2 = 3
    assert by_range.scores == {"A": 2.0, "B": 3.0, "C": 3.0}
    assert by_range.arm == "A"
    # variance (population): A -> 8/9 + 0; B -> 2/9 + 2/3; C -> 2/9 + 2/3: all 8/9, a three-way tie
    by_variance = minimise(previous, new, scheme, rng, MinimisationSettings(1.0, "variance"))
    assert by_variance.scores == pytest.approx({"A": 8 / 9, "B": 8 / 9, "C": 8 / 9})
    assert by_variance.probabilities == pytest.approx({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})


def test_counts_are_divided_by_the_ratio():
    # 2:1 with IMR 2, TAU 1 at both levels is on target; adding to IMR leaves |3/2 - 1| = 0.5 per
    # factor, adding to TAU |1 - 2| = 1 per factor: IMR preferred.
    scheme = AllocationScheme(("IMR", "TAU"), (2, 1), TWO.factors, (3,))
    previous = history(("BAL", "scz", "IMR"), ("BAL", "scz", "IMR"), ("BAL", "scz", "TAU"))
    decision = minimise(
        previous, {"site": "BAL", "dx": "scz"}, scheme, np.random.default_rng(0), DETERMINISTIC
    )
    assert decision.scores == {"IMR": 1.0, "TAU": 2.0}
    assert decision.arm == "IMR"


def test_probabilities_split_p_among_preferred_and_all_tie_follows_the_ratio():
    assert arm_probabilities([1.0, 2.0], [1, 1], 0.8) == pytest.approx([0.8, 0.2])
    assert arm_probabilities([1.0, 1.0, 2.0], [1, 1, 1], 0.8) == pytest.approx([0.4, 0.4, 0.2])
    assert arm_probabilities([0.5, 0.5], [2, 1], 0.8) == pytest.approx([2 / 3, 1 / 3])


def test_random_element_chooses_the_preferred_arm_with_probability_p():
    rng = np.random.default_rng(1975)
    draws = np.array([choose([0.8, 0.2], rng) for _ in range(4000)])
    # binomial SD of the share is sqrt(0.8 * 0.2 / 4000) = 0.0063; allow 4 SD
    assert abs((draws == 0).mean() - 0.8) < 0.026


def test_first_participant_is_drawn_with_the_ratio():
    rng = np.random.default_rng(7)
    arms = [minimise([], {"site": "BAL", "dx": "scz"}, TWO, rng).arm for _ in range(2000)]
    assert abs(arms.count("IMR") / 2000 - 0.5) < 0.045  # 4 SD of a fair coin over 2000


def test_same_generator_state_gives_the_same_decision():
    previous = history(("BAL", "scz", "IMR"), ("FRB", "bip", "TAU"))
    one = minimise(previous, {"site": "FRB", "dx": "scz"}, TWO, np.random.default_rng(99))
    two = minimise(previous, {"site": "FRB", "dx": "scz"}, TWO, np.random.default_rng(99))
    assert one == two


def test_replaying_minimise_matches_incremental_counts():
    # The pure function (which replays history) and the incremental counter used by QA agree.
    rng_levels = np.random.default_rng(3)
    people = [
        {"site": ("BAL", "FRB")[rng_levels.integers(2)], "dx": ("scz", "bip")[rng_levels.integers(2)]}
        for _ in range(40)
    ]
    settings = MinimisationSettings(0.8)
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    previous, counts, incremental = [], MarginalCounts(TWO), []
    for person in people:
        previous.append((person, minimise(previous, person, TWO, rng_a, settings).arm))
        arm = choose(arm_probabilities(counts.scores(person, settings), TWO.ratios, 0.8), rng_b)
        counts.add(person, arm)
        incremental.append(TWO.arms[arm])
    assert [arm for _, arm in previous] == incremental


def test_deterministic_single_factor_keeps_every_level_within_one():
    scheme = AllocationScheme(("A", "B", "C"), (1, 1, 1), (Factor("site", ("s1", "s2", "s3")),), (3,))
    rng = np.random.default_rng(5)
    previous = []
    for _ in range(90):
        person = {"site": ("s1", "s2", "s3")[rng.integers(3)]}
        previous.append((person, minimise(previous, person, scheme, rng, DETERMINISTIC).arm))
        for level in ("s1", "s2", "s3"):
            arms = [arm for p, arm in previous if p["site"] == level]
            counts = [arms.count(a) for a in scheme.arms]
            assert max(counts) - min(counts) <= 1


def test_unknown_levels_and_arms_are_user_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match=r"unknown level 'AMA' of factor 'site' \(known: BAL, FRB\)"):
        minimise([], {"site": "AMA", "dx": "scz"}, TWO, rng)
    with pytest.raises(UserError, match="no level for stratification factor 'dx'"):
        minimise([], {"site": "BAL"}, TWO, rng)
    with pytest.raises(UserError, match=r"previous allocation 2: unknown arm 'X'"):
        minimise(history(("BAL", "scz", "IMR"), ("BAL", "scz", "X")), {"site": "BAL", "dx": "scz"}, TWO, rng)
