"""What an allocation scheme is made of: arms with ratios, stratification factors, block sizes.

Plain, validated values so that sequence generation, list checking and QA can be used and tested
without a protocol file (:mod:`trialdesk.allocation.adapter` builds one from a protocol).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import gcd
from typing import Literal

import numpy as np
import numpy.typing as npt

from trialdesk.errors import UserError

#: Label of the single stratum of an unstratified trial.
UNSTRATIFIED = "all"

ImbalanceMeasure = Literal["range", "variance"]


@dataclass(frozen=True)
class Factor:
    """A stratification factor: its code and the codes of its levels, in protocol order."""

    code: str
    levels: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_code(self.code, "factor code")
        if not self.levels:
            raise UserError(f"stratification factor {self.code!r} has no levels")
        for level in self.levels:
            _check_code(level, f"level of factor {self.code!r}")
        if len(set(self.levels)) != len(self.levels):
            raise UserError(f"stratification factor {self.code!r} lists a level twice: {list(self.levels)}")


@dataclass(frozen=True)
class MinimisationSettings:
    """Pocock-Simon minimisation: chance of the preferred arm, imbalance measure, factor weights."""

    probability: float = 0.8
    measure: ImbalanceMeasure = "range"
    weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.probability <= 1:
            raise UserError(f"minimisation probability must be in (0, 1], got {self.probability}")
        if self.measure not in ("range", "variance"):
            raise UserError(f"minimisation measure must be 'range' or 'variance', got {self.measure!r}")
        for code, weight in self.weights.items():
            if not weight > 0:
                raise UserError(f"minimisation weight of factor {code!r} must be positive, got {weight}")

    def weight(self, factor: str) -> float:
        return float(self.weights.get(factor, 1.0))


@dataclass(frozen=True)
class AllocationScheme:
    """Arms and their ratio, the stratification factors and the block sizes drawn from."""

    arms: tuple[str, ...]
    ratios: tuple[int, ...]
    factors: tuple[Factor, ...] = ()
    block_sizes: tuple[int, ...] = (2, 4, 6)
    minimisation: MinimisationSettings | None = None
    protocol_hash: str | None = None

    def __post_init__(self) -> None:
        if len(self.arms) < 2:
            raise UserError(f"an allocation scheme needs at least two arms, got {list(self.arms)}")
        for arm in self.arms:
            _check_code(arm, "arm code")
        if len(set(self.arms)) != len(self.arms):
            raise UserError(f"arm codes must be unique, got {list(self.arms)}")
        if len(self.ratios) != len(self.arms):
            raise UserError(f"{len(self.arms)} arms but {len(self.ratios)} ratios")
        for arm, ratio in zip(self.arms, self.ratios, strict=True):
            if isinstance(ratio, bool) or not isinstance(ratio, int | np.integer) or ratio <= 0:
                raise UserError(f"ratio of arm {arm!r} must be a positive whole number, got {ratio!r}")
        codes = [f.code for f in self.factors]
        if len(set(codes)) != len(codes):
            raise UserError(f"stratification factor codes must be unique, got {codes}")
        for size in self.block_sizes:
            if isinstance(size, bool) or not isinstance(size, int | np.integer) or size <= 0:
                raise UserError(f"block size must be a positive whole number, got {size!r}")
            if size % self.ratio_sum:
                raise UserError(
                    f"block size {size} is not a multiple of the ratio sum {self.ratio_sum} "
                    f"({self.ratio_text})"
                )
        if len(set(self.block_sizes)) != len(self.block_sizes):
            raise UserError(f"block sizes must be distinct, got {list(self.block_sizes)}")

    @property
    def ratio_sum(self) -> int:
        return int(sum(self.ratios))

    @property
    def ratio_text(self) -> str:
        """``IMR:TAU = 1:1``."""
        return f"{':'.join(self.arms)} = {':'.join(str(r) for r in self.ratios)}"

    @property
    def weights(self) -> npt.NDArray[np.float64]:
        """Target share of each arm (ratio / ratio sum)."""
        return np.asarray(self.ratios, dtype=float) / self.ratio_sum

    @property
    def smallest_block(self) -> int:
        """Smallest block that keeps the ratio exactly (ratio sum over the ratios' common divisor)."""
        divisor = 0
        for ratio in self.ratios:
            divisor = gcd(divisor, int(ratio))
        return self.ratio_sum // divisor

    def arm_index(self, arm: str) -> int:
        try:
            return self.arms.index(arm)
        except ValueError:
            raise UserError(f"unknown arm {arm!r} (known: {', '.join(self.arms)})") from None

    def strata(self) -> tuple[str, ...]:
        """Every stratum label: the cartesian product of the factors' levels, in protocol order."""
        if not self.factors:
            return (UNSTRATIFIED,)
        combos = itertools.product(*(f.levels for f in self.factors))
        return tuple(
            stratum_label(zip((f.code for f in self.factors), combo, strict=True)) for combo in combos
        )

    def parse_stratum(self, label: str) -> dict[str, str]:
        """``site=BAL|diagnosis=bipolar`` -> ``{"site": "BAL", "diagnosis": "bipolar"}``, checked."""
        if not self.factors:
            if label != UNSTRATIFIED:
                raise UserError(f"stratum {label!r}: the scheme is unstratified, the only stratum is 'all'")
            return {}
        parts = label.split("|")
        expected = [f.code for f in self.factors]
        levels: dict[str, str] = {}
        for part in parts:
            code, sep, level = part.partition("=")
            if not sep:
                raise UserError(f"stratum {label!r}: {part!r} is not written factor=level")
            levels[code] = level
        if list(levels) != expected or len(parts) != len(expected):
            raise UserError(f"stratum {label!r}: factors must be {', '.join(expected)} in that order")
        for factor in self.factors:
            if levels[factor.code] not in factor.levels:
                raise UserError(
                    f"stratum {label!r}: unknown level {levels[factor.code]!r} of factor {factor.code!r} "
                    f"(known: {', '.join(factor.levels)})"
                )
        return levels

    def stratum_of(self, levels: Mapping[str, str]) -> str:
        """The stratum label of a participant with these factor levels (checked)."""
        label = stratum_label((f.code, str(levels.get(f.code, ""))) for f in self.factors)
        self.parse_stratum(label or UNSTRATIFIED)
        return label or UNSTRATIFIED


def stratum_label(pairs: Iterable[tuple[str, str]]) -> str:
    """Join ``(factor, level)`` pairs as ``factor=level|factor=level``."""
    return "|".join(f"{code}={level}" for code, level in pairs)


def imbalance(counts: npt.ArrayLike, weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Distance of arm counts from the ratio: sum over arms of ``|count - n * share|``.

    For two arms at 1:1 this is ``|n_A - n_B|``; ``counts`` may carry leading axes (the last is arms).
    A permuted block of size b can never put it above b / 2, whatever the ratio.
    """
    c = np.asarray(counts, dtype=float)
    share = np.asarray(weights, dtype=float)
    n = c.sum(axis=-1, keepdims=True)
    result: npt.NDArray[np.float64] = np.abs(c - n * share).sum(axis=-1)
    return result


def _check_code(code: object, what: str) -> None:
    # '|' and '=' build stratum labels; ',' and newlines would break the CSV list.
    if not isinstance(code, str) or not code or any(ch in code for ch in '|=,\n\r"') or code != code.strip():
        raise UserError(f'{what} {code!r} must be a non-empty code without spaces around it or | = , "')
