"""Properties of generated allocation lists and of minimisation (hypothesis)."""

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.allocation import (
    AllocationScheme,
    Factor,
    MinimisationSettings,
    generate_list,
    imbalance,
    minimise,
    parse_list,
)
from trialdesk.allocation.minimisation import MarginalCounts, arm_probabilities, choose

SEEDS = st.integers(min_value=0, max_value=2**63)


@st.composite
def schemes(draw, max_levels=3):
    n_arms = draw(st.integers(2, 3))
    ratios = tuple(draw(st.lists(st.integers(1, 3), min_size=n_arms, max_size=n_arms)))
    total = sum(ratios)
    multiples = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))
    factors = tuple(
        Factor(f"f{i}", tuple(f"l{j}" for j in range(draw(st.integers(1, max_levels)))))
        for i in range(draw(st.integers(0, 2)))
    )
    return AllocationScheme(tuple("ABC"[:n_arms]), ratios, factors, tuple(m * total for m in multiples))


def blocks_of(allocation_list):
    found = {}
    for slot in allocation_list.slots:
        found.setdefault((slot.stratum, slot.block), []).append(slot)
    return found


@settings(max_examples=60, deadline=None)
@given(schemes(), SEEDS, st.integers(1, 40))
def test_every_block_is_complete_and_balanced_per_the_ratio(scheme, seed, n):
    allocation_list = generate_list(scheme, seed, n)
    for slots in blocks_of(allocation_list).values():
        size = slots[0].block_size
        assert len(slots) == size
        assert {s.block_size for s in slots} == {size}
        counts = Counter(s.arm for s in slots)
        assert all(
            counts[a] == size * r // scheme.ratio_sum for a, r in zip(scheme.arms, scheme.ratios, strict=True)
        )
    for arms in allocation_list.arms_by_stratum().values():
        assert n <= len(arms) < n + max(scheme.block_sizes)


@settings(max_examples=60, deadline=None)
@given(schemes(), SEEDS, st.integers(1, 40))
def test_running_imbalance_never_exceeds_half_the_largest_block(scheme, seed, n):
    allocation_list = generate_list(scheme, seed, n)
    for arms in allocation_list.arms_by_stratum().values():
        onehot = np.eye(len(scheme.arms))[[scheme.arms.index(a) for a in arms]]
        running = imbalance(np.cumsum(onehot, axis=0), scheme.weights)
        assert running.max() <= max(scheme.block_sizes) / 2 + 1e-9


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.integers(1, 30), st.integers(1, 30), st.permutations(["BAL", "FRB", "AMA"]))
def test_a_stratum_is_unchanged_when_other_strata_change(seed, n, other_n, order):
    def arms_of(site_levels, sizes):
        scheme = AllocationScheme(("IMR", "TAU"), (1, 1), (Factor("site", tuple(site_levels)),), (2, 4, 6))
        return generate_list(scheme, seed, sizes).arms_by_stratum()["site=BAL"]

    alone = arms_of(["BAL"], n)
    # more sites, in any order, with other lengths: site=BAL's sequence is the same
    assert arms_of(order, {f"site={s}": (n if s == "BAL" else other_n) for s in order}) == alone
    # a longer list for this stratum extends it: the first slots do not change
    assert arms_of(["BAL"], n + other_n)[: len(alone)] == alone


@settings(max_examples=30, deadline=None)
@given(schemes(max_levels=2), SEEDS, SEEDS)
def test_same_seed_same_list_other_seed_other_list(scheme, seed, other):
    # 60 slots per stratum: either >= 30 blocks of >= 2 equally likely arrangements, or fewer, larger
    # blocks with far more arrangements (C(6,3) = 20 already), so two seeds give the same stratum with
    # probability below 2**-20: a failure here is a bug, not chance.
    one = generate_list(scheme, seed, 60)
    assert generate_list(scheme, seed, 60).text() == one.text()
    assert parse_list(one.text(), scheme).slots == one.slots
    if other != seed:
        assert generate_list(scheme, other, 60).body != one.body


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 3),
    st.integers(1, 4),
    st.lists(st.integers(0, 3), min_size=1, max_size=80),
    SEEDS,
    st.sampled_from(["range", "variance"]),
)
def test_deterministic_minimisation_on_one_factor_keeps_each_level_within_one(
    n_arms, n_levels, arrivals, seed, measure
):
    levels = tuple(f"l{j}" for j in range(n_levels))
    scheme = AllocationScheme(tuple("ABC"[:n_arms]), (1,) * n_arms, (Factor("f", levels),), (n_arms,))
    rng = np.random.default_rng(seed)
    previous = []
    for arrival in arrivals:
        person = {"f": levels[arrival % n_levels]}
        decision = minimise(previous, person, scheme, rng, MinimisationSettings(1.0, measure))
        previous.append((person, decision.arm))
        for level in levels:
            counts = Counter(arm for p, arm in previous if p["f"] == level)
            values = [counts[a] for a in scheme.arms]
            assert max(values) - min(values) <= 1


@settings(max_examples=50, deadline=None)
@given(st.floats(0.75, 0.95), st.integers(1, 2), SEEDS)
def test_minimisation_with_random_element_stays_bounded_in_probability(p, n_levels, seed):
    # One factor, two arms: at each level |n_A - n_B| moves towards 0 with probability p and away with
    # q = 1 - p. An excursion from 0 reaches k with probability <= (q/p)^(k-1) (gambler's ruin), and
    # there are at most n excursions, so P(max |D| >= k) <= n (q/p)^(k-1). With p >= 0.75, n = 1000
    # and k = 20 that is below 1e-6 per example. A coin toss instead (p = 0.5) would wander past 20 in
    # most runs of 500-1000 steps per level.
    levels = tuple(f"l{j}" for j in range(n_levels))
    scheme = AllocationScheme(("A", "B"), (1, 1), (Factor("f", levels),), (2,))
    settings_ = MinimisationSettings(p)
    rng = np.random.default_rng(seed)
    counts = MarginalCounts(scheme)
    worst = 0
    for _ in range(1000):
        person = {"f": levels[rng.integers(n_levels)]}
        arm = choose(arm_probabilities(counts.scores(person, settings_), scheme.ratios, p), rng)
        counts.add(person, arm)
        worst = max(worst, *(abs(a - b) for a, b in counts.counts.values()))
    assert worst < 20
