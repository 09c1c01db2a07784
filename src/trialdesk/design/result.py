"""The result of a closed-form sample size or power calculation, and the checks every design shares.

Every calculation returns a :class:`DesignResult`: the unrounded sample size per arm (as R's
``power.t.test`` reports it), the power at that size, and the inputs, so the number in a protocol can be
traced back to its assumptions. ``to_dict()`` is the ``trialdesk power --json`` document.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scipy import optimize

from trialdesk.errors import UserError

#: R's ``uniroot`` interval in ``power.t.test`` / ``power.prop.test``: n is searched in [2, 1e7].
N_LOWER = 2.0
N_UPPER = 1e7


@dataclass(frozen=True)
class DesignResult:
    """Sample size and power for one design.

    ``n_per_arm`` is the size of the reference (control) arm, unrounded; ``n_by_arm`` gives every arm
    when allocation is unequal. ``n_recruit_per_arm`` is ``n_per_arm`` inflated for dropout,
    ``n / (1 - dropout)``.
    """

    design: str
    method: str
    n_per_arm: float
    power: float
    alpha: float
    sides: int
    parameters: dict[str, Any] = field(default_factory=dict)
    n_by_arm: dict[str, float] = field(default_factory=dict)
    dropout: float = 0.0
    reference: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        inflate_for_dropout(1.0, self.dropout)  # validates the dropout fraction early

    @property
    def n_per_arm_rounded(self) -> int:
        """Participants per arm to recruit before dropout: the unrounded n rounded up."""
        return math.ceil(self.n_per_arm - 1e-9)

    @property
    def n_recruit_per_arm(self) -> float:
        return inflate_for_dropout(self.n_per_arm, self.dropout)

    @property
    def n_total(self) -> float:
        return sum(self.n_by_arm.values()) if self.n_by_arm else 2 * self.n_per_arm

    def to_dict(self) -> dict[str, Any]:
        recruit = {name: inflate_for_dropout(n, self.dropout) for name, n in self.n_by_arm.items()}
        return {
            "design": self.design,
            "method": self.method,
            "n_per_arm": self.n_per_arm,
            "n_per_arm_rounded": self.n_per_arm_rounded,
            "n_by_arm": dict(self.n_by_arm),
            "n_total": self.n_total,
            "dropout": self.dropout,
            "n_recruit_per_arm": self.n_recruit_per_arm,
            "n_recruit_by_arm": recruit,
            "n_recruit_total": sum(recruit.values()) if recruit else 2 * self.n_recruit_per_arm,
            "power": self.power,
            "alpha": self.alpha,
            "sides": self.sides,
            "parameters": dict(self.parameters),
            "reference": self.reference,
            "note": self.note,
        }

    def summary(self) -> str:
        lines = [f"{self.method}", ""]
        for name, value in self.parameters.items():
            lines.append(f"{name:>20} = {value}")
        lines += [
            f"{'alpha':>20} = {self.alpha} ({'two' if self.sides == 2 else 'one'}-sided)",
            f"{'n per arm':>20} = {self.n_per_arm:.4f}  (round up: {self.n_per_arm_rounded})",
        ]
        for arm, n in self.n_by_arm.items():
            lines.append(f"{'n ' + arm:>20} = {n:.4f}")
        if self.dropout:
            lines.append(f"{'recruit per arm':>20} = {self.n_recruit_per_arm:.4f} (dropout {self.dropout})")
        lines.append(f"{'power':>20} = {self.power:.6f}")
        if self.note:
            lines += ["", f"NOTE: {self.note}"]
        return "\n".join(lines)


def inflate_for_dropout(n: float, dropout: float) -> float:
    """Participants to recruit so that ``n`` remain when a fraction ``dropout`` is lost: n / (1 - d)."""
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1) (got {dropout})")
    return n / (1.0 - dropout)


def check_positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a positive number (got {value})")


def check_probability(name: str, value: float) -> None:
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise UserError(f"{name} must be strictly between 0 and 1 (got {value})")


def check_sides(sides: int) -> None:
    if sides not in (1, 2):
        raise UserError(f"sides must be 1 or 2 (got {sides})")


def check_n_or_power(n: float | None, power: float | None, minimum: float = N_LOWER) -> None:
    """Exactly one of n and power is given: the other is computed."""
    if (n is None) == (power is None):
        raise UserError("give exactly one of n (to compute power) or power (to compute n)")
    if n is not None and (not math.isfinite(n) or n < minimum):
        raise UserError(f"n must be a number >= {minimum:g} per arm (got {n})")
    if power is not None:
        check_probability("power", power)


def solve_n(power_at: Callable[[float], float], target: float, lower: float = N_LOWER) -> float:
    """The n in [lower, 1e7] where ``power_at(n) == target``; power must increase with n.

    Solved to 1e-10 rather than R's ``uniroot`` default tolerance (``.Machine$double.eps^0.25``), so
    the unrounded n is exact to the digits R prints when asked for a tight tolerance.
    """
    low_power = power_at(lower)
    if low_power >= target:
        raise UserError(
            f"power {target} is already reached with n = {lower:g} per arm (power there is "
            f"{low_power:.4f}): nothing to solve; ask for a higher power or a smaller effect"
        )
    high_power = power_at(N_UPPER)
    if high_power <= target:
        raise UserError(
            f"power {target} cannot be reached with up to {N_UPPER:g} per arm (power there is "
            f"{high_power:.4f}): the effect is too small or zero"
        )
    root: float = optimize.brentq(lambda n: power_at(n) - target, lower, N_UPPER, xtol=1e-10, rtol=1e-14)
    return root
