"""Pocock-Simon minimisation with a random element (Pocock & Simon, Biometrics 1975;31:103-115).

For a new participant, each arm is scored by the imbalance the trial would have if the participant
went there: for every factor, the counts per arm at the participant's level (each divided by the
arm's ratio, so 2:1 counts as balanced when it is 2:1) are summarised by their range or variance, and
the factors' values are added with their weights. The arm(s) with the lowest score are preferred and
get probability ``p`` between them; the others share ``1 - p``. When every arm scores the same, the
arm is drawn with the allocation ratio. ``p = 1`` is deterministic minimisation (ties still random).

Written here because no maintained Python library implements it with these options and a pure,
replayable interface: the allocation service replays the previous allocations and passes a Generator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from trialdesk.allocation.scheme import AllocationScheme, MinimisationSettings
from trialdesk.errors import UserError

ALGORITHM = "pocock_simon_minimisation"
ALGORITHM_VERSION = "1"

# Scores closer than this are ties (they are sums of small rationals; only rounding separates them).
_TIE = 1e-9


@dataclass(frozen=True)
class Decision:
    """The arm chosen, the preferred arms, every arm's score and chance, for the audit trail."""

    arm: str
    preferred: tuple[str, ...]
    scores: dict[str, float]
    probabilities: dict[str, float]


class MarginalCounts:
    """Counts per arm at every factor level: what minimisation looks at (incremental, for speed)."""

    def __init__(self, scheme: AllocationScheme) -> None:
        self.scheme = scheme
        self.counts: dict[tuple[str, str], list[int]] = {
            (f.code, level): [0] * len(scheme.arms) for f in scheme.factors for level in f.levels
        }

    def check(self, levels: Mapping[str, str]) -> None:
        for factor in self.scheme.factors:
            level = levels.get(factor.code)
            if level is None:
                raise UserError(f"participant has no level for stratification factor {factor.code!r}")
            if (factor.code, level) not in self.counts:
                raise UserError(
                    f"unknown level {level!r} of factor {factor.code!r} (known: {', '.join(factor.levels)})"
                )

    def add(self, levels: Mapping[str, str], arm: int) -> None:
        for factor in self.scheme.factors:
            self.counts[(factor.code, levels[factor.code])][arm] += 1

    def scores(self, levels: Mapping[str, str], settings: MinimisationSettings) -> list[float]:
        """Weighted imbalance if the participant went to each arm."""
        ratios = self.scheme.ratios
        k = len(ratios)
        result = [0.0] * k
        for factor in self.scheme.factors:
            weight = settings.weight(factor.code)
            base = self.counts[(factor.code, levels[factor.code])]
            for arm in range(k):
                scaled = [(base[j] + (j == arm)) / ratios[j] for j in range(k)]
                if settings.measure == "range":
                    spread = max(scaled) - min(scaled)
                else:
                    mean = sum(scaled) / k
                    spread = sum((x - mean) ** 2 for x in scaled) / k
                result[arm] += weight * spread
        return result


def arm_probabilities(scores: Sequence[float], ratios: Sequence[int], probability: float) -> list[float]:
    """Chance of each arm given its score (see the module docstring)."""
    best = min(scores)
    preferred = [abs(s - best) <= _TIE for s in scores]
    n_preferred = sum(preferred)
    if n_preferred == len(scores):
        total = sum(ratios)
        return [r / total for r in ratios]
    rest = len(scores) - n_preferred
    return [probability / n_preferred if p else (1 - probability) / rest for p in preferred]


def choose(probabilities: Sequence[float], rng: np.random.Generator) -> int:
    """Index drawn with the given chances from one uniform number (one draw per allocation)."""
    u = rng.random()
    cumulative = 0.0
    for index, p in enumerate(probabilities):
        cumulative += p
        if u < cumulative:
            return index
    return len(probabilities) - 1


def minimise(
    previous: Iterable[tuple[Mapping[str, str], str]],
    participant: Mapping[str, str],
    scheme: AllocationScheme,
    rng: np.random.Generator,
    settings: MinimisationSettings | None = None,
) -> Decision:
    """The arm for ``participant`` (factor code -> level) given ``previous`` (levels, arm) allocations.

    Pure: the same previous allocations, participant and generator state give the same decision.
    ``settings`` default to the scheme's, then to :class:`MinimisationSettings` defaults.
    """
    settings = settings or scheme.minimisation or MinimisationSettings()
    counts = MarginalCounts(scheme)
    for number, (levels, arm) in enumerate(previous, start=1):
        try:
            counts.check(levels)
            arm_index = scheme.arm_index(arm)
        except UserError as problem:
            raise UserError(f"previous allocation {number}: {problem}") from None
        counts.add(levels, arm_index)
    counts.check(participant)
    scores = counts.scores(participant, settings)
    probabilities = arm_probabilities(scores, scheme.ratios, settings.probability)
    chosen = choose(probabilities, rng)
    best = min(scores)
    return Decision(
        arm=scheme.arms[chosen],
        preferred=tuple(a for a, s in zip(scheme.arms, scores, strict=True) if abs(s - best) <= _TIE),
        scores=dict(zip(scheme.arms, scores, strict=True)),
        probabilities=dict(zip(scheme.arms, probabilities, strict=True)),
    )
