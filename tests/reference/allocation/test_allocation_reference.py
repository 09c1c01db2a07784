"""Predictability of permuted blocks against Blackwell & Hodges (1957): R's output and the closed form.

Published values (expected proportion of correct guesses, convergence strategy, 1:1, fixed known
block size): 2 -> 0.75, 4 -> 17/24 = 0.7083, 6 -> 41/60 = 0.6833, 8 -> 0.6661. Blackwell D, Hodges JL.
Ann Math Stat 1957;28:449-460; Matts JP, Lachin JM. Control Clin Trials 1988;9:327-344 (E(F) per
block = 2^(2m-1)/C(2m,m) - 1/2). The R script beside this file recomputes them by enumeration.
"""

import itertools
import re
from pathlib import Path

import pytest

from trialdesk.allocation import (
    AllocationScheme,
    convergence_correct,
    fixed_block_predictability,
    generate_list,
    qa_list,
)

HERE = Path(__file__).parent


def r_output():
    values = {}
    for line in (HERE / "blackwell_hodges.out").read_text().splitlines():
        size, enumerated, closed = re.match(
            r"block\s+(\d+) enumeration (\S+) closed_form (\S+)", line
        ).groups()
        values[int(size)] = (float(enumerated), float(closed))
    return values


def test_r_output_matches_the_published_values():
    published = {2: 0.75, 4: 17 / 24, 6: 41 / 60}
    for size, value in published.items():
        assert r_output()[size][0] == pytest.approx(value, abs=5e-11)


@pytest.mark.parametrize("size", [2, 4, 6, 8, 10])
def test_library_convergence_strategy_over_every_block_matches_r(size):
    # Every distinct arrangement of the block is equally likely under permuted blocks.
    arrangements = [
        [int(i in where) for i in range(size)] for where in itertools.combinations(range(size), size // 2)
    ]
    mean = sum(convergence_correct(a, (1, 1)).mean() for a in arrangements) / len(arrangements)
    enumerated, closed = r_output()[size]
    assert mean == pytest.approx(enumerated, abs=5e-11)  # R prints 10 decimals
    assert fixed_block_predictability(size) == pytest.approx(closed, abs=5e-11)


def test_qa_predictability_of_fixed_blocks_of_two_is_exactly_three_quarters():
    scheme = AllocationScheme(("A", "B"), (1, 1), (), (2,))
    report = qa_list(generate_list(scheme, 1, 400), scheme, n_participants=400, n_sims=5, methods=("list",))
    assert report.strata[0].predictability == pytest.approx(0.75, abs=1e-12)
    assert report.method("list").predictability.mean == pytest.approx(0.75, abs=1e-12)


def test_qa_predictability_of_fixed_blocks_of_four_by_simulation():
    # 200 simulations x 50 blocks: SD of one block's share correct is 0.059, so SE = 0.0008.
    scheme = AllocationScheme(("A", "B"), (1, 1), (), (4,))
    report = qa_list(
        generate_list(scheme, 1, 200), scheme, n_participants=200, n_sims=200, seed=2, methods=("blocks",)
    )
    assert report.method("blocks").predictability.mean == pytest.approx(r_output()[4][0], abs=0.003)
