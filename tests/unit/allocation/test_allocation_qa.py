"""QA by simulation: the convergence strategy, imbalance summaries, exhaustion, reproducibility."""

import json

import numpy as np
import pytest

from trialdesk.allocation import (
    AllocationScheme,
    Factor,
    convergence_correct,
    generate_list,
    guess_chances,
    parse_list,
    predictability,
    qa_list,
    reproduces,
)
from trialdesk.errors import UserError

SCHEME = AllocationScheme(
    ("IMR", "TAU"),
    (1, 1),
    (Factor("site", ("BAL", "FRB")), Factor("diagnosis", ("schizophrenia", "bipolar"))),
)


def test_convergence_strategy_on_hand_worked_sequences():
    # A A B B: guess tie (1/2), then B after A (wrong), then B after AA (right), then B (right)
    np.testing.assert_allclose(convergence_correct([0, 0, 1, 1], (1, 1)), [0.5, 0, 1, 1])
    # A B A B: 1/2, right, tie 1/2, right
    np.testing.assert_allclose(convergence_correct([0, 1, 0, 1], (1, 1)), [0.5, 1, 0.5, 1])
    assert predictability([0, 1, 0, 1], (1, 1)) == pytest.approx(0.75)


def test_guess_chances_with_unequal_ratio():
    # 2:1 at the start: both are at 0/ratio, the tie is broken with the ratio
    assert guess_chances([0, 0], [2, 1]) == pytest.approx([2 / 3, 1 / 3])
    # after A: A at 1/2, B at 0 -> guess B
    assert guess_chances([1, 0], [2, 1]) == [0.0, 1.0]
    # after A, B: A at 1/2, B at 1 -> guess A
    assert guess_chances([1, 1], [2, 1]) == [1.0, 0.0]


def test_qa_of_a_generated_list():
    allocation_list = generate_list(SCHEME, seed=20110228, per_stratum=70)
    report = qa_list(allocation_list, SCHEME, n_participants=200, n_sims=60, seed=1)
    assert report.reproducible is True
    assert report.protocol_matches is None  # neither side has a protocol hash here
    assert report.list_sha256 == allocation_list.sha256
    assert [m.method for m in report.methods] == ["list", "blocks", "minimisation"]
    listed = report.method("list")
    # within-stratum blocks of at most 6: a stratum's imbalance never exceeds 3
    assert listed.worst_stratum_imbalance.max <= 3
    assert all(s.max_running_imbalance <= 3 for s in report.strata)
    # predictability lies between pure chance and fixed blocks of 2 (0.75)
    for method in report.methods:
        assert 0.5 < method.predictability.mean < 0.75
    assert {s.stratum for s in report.strata} == set(SCHEME.strata())
    assert all(s.probability == pytest.approx(0.25) for s in report.strata)
    json.dumps(report.to_dict())  # plain data


def test_same_seed_same_report_and_other_seed_other_arrivals():
    allocation_list = generate_list(SCHEME, seed=4, per_stratum=40)
    one = qa_list(allocation_list, SCHEME, n_participants=100, n_sims=30, seed=9, methods=("list",))
    two = qa_list(allocation_list, SCHEME, n_participants=100, n_sims=30, seed=9, methods=("list",))
    three = qa_list(allocation_list, SCHEME, n_participants=100, n_sims=30, seed=10, methods=("list",))
    assert one == two
    assert one.strata != three.strata


def test_uneven_recruitment_and_exhaustion():
    allocation_list = generate_list(SCHEME, seed=2, per_stratum=20)
    weights = {"site=BAL|diagnosis=schizophrenia": 6, "site=FRB|diagnosis=bipolar": 0}
    report = qa_list(
        allocation_list,
        SCHEME,
        n_participants=120,
        n_sims=40,
        seed=3,
        probabilities=weights,
        methods=("list",),
    )
    shares = {s.stratum: s.probability for s in report.strata}
    assert shares["site=BAL|diagnosis=schizophrenia"] == pytest.approx(1.0)
    # 120 arrivals all in one stratum of about 20 slots: it always runs out, the others never fill
    exhausted = {s.stratum: s.exhausted for s in report.strata}
    assert exhausted["site=BAL|diagnosis=schizophrenia"] == 1.0
    assert exhausted["site=FRB|diagnosis=bipolar"] == 0.0


def test_minimisation_balances_margins_far_better_than_simple_randomisation():
    allocation_list = generate_list(SCHEME, seed=2, per_stratum=80)
    report = qa_list(
        allocation_list, SCHEME, n_participants=200, n_sims=100, seed=5, methods=("minimisation",)
    )
    minimised = report.method("minimisation").worst_margin_imbalance.mean
    # Simple randomisation on the same design, simulated here independently of the library.
    rng = np.random.default_rng(5)
    worst = []
    for _ in range(100):
        site, dx, arm = rng.integers(2, size=(3, 200))
        margins = [
            abs((arm[f == level] == 0).sum() - (arm[f == level] == 1).sum())
            for f in (site, dx)
            for level in (0, 1)
        ]
        worst.append(max(margins))
    assert minimised < 4
    assert minimised < np.mean(worst) / 3


def test_reproduces_detects_a_list_that_its_seed_does_not_make():
    allocation_list = generate_list(SCHEME, seed=4, per_stratum=10)
    assert reproduces(allocation_list, SCHEME) is True
    text = allocation_list.text().replace("# seed: 4", "# seed: 5")
    assert reproduces(parse_list(text, SCHEME), SCHEME) is False
    no_seed = "\n".join(line for line in allocation_list.text().split("\n") if not line.startswith("# seed"))
    assert reproduces(parse_list(no_seed, SCHEME), SCHEME) is None


def test_bad_qa_arguments():
    allocation_list = generate_list(SCHEME, seed=4, per_stratum=10)
    with pytest.raises(UserError, match="must be positive"):
        qa_list(allocation_list, SCHEME, n_participants=0)
    with pytest.raises(UserError, match="unknown strata"):
        qa_list(allocation_list, SCHEME, n_participants=10, probabilities={"site=XXX": 1})
    with pytest.raises(UserError, match="unknown QA methods"):
        qa_list(allocation_list, SCHEME, n_participants=10, methods=("coin",))
