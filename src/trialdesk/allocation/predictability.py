"""Predictability: how often a recruiter who knows the past allocations guesses the next one.

The convergence strategy (Blackwell & Hodges, Ann Math Stat 1957;28:449-460) guesses the arm that is
furthest behind its share so far; with unequal ratios "behind" is count / ratio, and ties are guessed
at random with the allocation ratio. We score the *expected* correctness of each guess (the chance the
random tie-break picks the arm actually allocated), not one sampled guess, so no noise is added.
For permuted blocks of fixed size 2m at 1:1 the expected proportion of correct guesses is
``1/2 + (2^(2m-1) / C(2m, m) - 1/2) / (2m)``: 0.75 for blocks of 2, 17/24 for blocks of 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np
import numpy.typing as npt


def guess_chances(counts: Sequence[int], ratios: Sequence[int]) -> list[float]:
    """Chance that the convergence strategy guesses each arm, given the counts so far."""
    scaled = [c / r for c, r in zip(counts, ratios, strict=True)]
    low = min(scaled)
    behind = [abs(s - low) < 1e-12 for s in scaled]
    total = sum(r for r, b in zip(ratios, behind, strict=True) if b)
    return [r / total if b else 0.0 for r, b in zip(ratios, behind, strict=True)]


def convergence_correct(sequence: Sequence[int], ratios: Sequence[int]) -> npt.NDArray[np.float64]:
    """For each slot of one stratum's sequence (arm indices), the chance the guess is right."""
    counts = [0] * len(ratios)
    result = np.empty(len(sequence))
    for position, arm in enumerate(sequence):
        result[position] = guess_chances(counts, ratios)[arm]
        counts[arm] += 1
    return result


def predictability(sequence: Sequence[int], ratios: Sequence[int]) -> float:
    """Expected proportion of correct guesses over a whole sequence (nan when it is empty)."""
    if not len(sequence):
        return float("nan")
    return float(convergence_correct(sequence, ratios).mean())


def fixed_block_predictability(block_size: int) -> float:
    """Closed form for 1:1 permuted blocks of one known size 2m under the convergence strategy.

    Expected correct guesses per block are ``m + 2^(2m-1) / C(2m, m) - 1/2`` (Blackwell & Hodges
    1957; Matts & Lachin, Control Clin Trials 1988;9:327-344); returned as a proportion of the block.
    """
    if block_size <= 0 or block_size % 2:
        raise ValueError(f"block size must be a positive even number, got {block_size}")
    m = block_size // 2
    return (m + 2 ** (2 * m - 1) / comb(2 * m, m) - 0.5) / block_size
