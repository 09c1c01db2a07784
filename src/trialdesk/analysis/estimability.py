"""Each result of the plan is estimated on its own, or says why it could not be.

A small or sparse trial cannot carry every model of the plan: an arm with one observed value at a visit,
a single IMR group among the completers, a covariate level nobody has, a count with no events in an arm,
an imputation model whose matrix is singular. Such a failure costs that one result, never the run: the
result keeps its identity (outcome, visit, analysis) and gets ``status = "not_estimable"`` and a
``reason`` in words; an estimated one gets ``status = "estimated"``. Warnings raised while estimating
(a fit that stopped early, say) are kept with the result instead of going to stderr.

Only failures that data can cause are caught (:data:`FAILURES`); anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import numpy as np
from patsy import PatsyError

from trialdesk.errors import UserError

ESTIMATED, NOT_ESTIMABLE = "estimated", "not_estimable"
#: Observed values an arm needs before a model compares it (a per-arm mean and variance need two).
MIN_PER_ARM = 2
NUMBERS = ("estimate", "ci_low", "ci_high", "p")

T = TypeVar("T")


class NotEstimable(Exception):  # noqa: N818 - a result's status, not an error of the run
    """This result cannot be estimated from these data; the message says why, for the results."""


#: What fitting a model to data too sparse for it raises (statistics code reports bad data as UserError).
FAILURES: tuple[type[BaseException], ...] = (
    NotEstimable,
    UserError,
    np.linalg.LinAlgError,
    PatsyError,
    ValueError,
    ZeroDivisionError,
    FloatingPointError,
)


def reason_of(problem: BaseException) -> str:
    """The failure in words a statistician can act on."""
    if isinstance(problem, np.linalg.LinAlgError):
        return (
            "a matrix of the model is singular: these data cannot separate its terms (too few "
            "observations, or an arm, visit or covariate level without any)"
        )
    text = str(problem).strip() or type(problem).__name__
    if isinstance(problem, NotEstimable | UserError):
        return text
    return f"the model could not be fitted ({type(problem).__name__}: {text})"


def require_per_arm(observed: Mapping[str, int], what: str, minimum: int = MIN_PER_ARM) -> None:
    """Refuse a comparison when an arm has fewer than ``minimum`` observed values."""
    short = {arm: n for arm, n in observed.items() if n < minimum}
    if short:
        counts = ", ".join(f"{n} in arm {arm}" for arm, n in observed.items())
        raise NotEstimable(f"too few observed values of {what} ({counts}); each arm needs at least {minimum}")


def refused(reason: str) -> Callable[[], dict[str, Any]]:
    """A step that is not estimable for ``reason`` known before fitting (no data for it at all, say)."""

    def step() -> dict[str, Any]:
        raise NotEstimable(reason)

    return step


def _finite(fields: Mapping[str, Any]) -> None:
    bad = [k for k in NUMBERS if k in fields and not (fields[k] is not None and math.isfinite(fields[k]))]
    if bad:
        raise NotEstimable(
            f"the model gave no finite {' or '.join(bad)} (the fit did not identify the effect)"
        )


def _messages(caught: list[warnings.WarningMessage]) -> list[str]:
    seen: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.append(text)
    return seen


def estimate(
    base: Mapping[str, Any], step: Callable[[], Mapping[str, Any]], what: str, notes: list[str]
) -> dict[str, Any]:
    """``base`` with what ``step`` returns and ``status = "estimated"``, or with ``status =
    "not_estimable"`` and the ``reason`` (also added to ``notes`` as one line naming ``what``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fields = step()
            _finite(fields)
        except FAILURES as problem:
            why = reason_of(problem)
            notes.append(f"{what}: not estimable: {why}")
            return {**base, "status": NOT_ESTIMABLE, "reason": why}
    out = {**base, **fields, "status": ESTIMATED}
    if caught:
        out["warnings"] = _messages(caught)
    return out


def part(step: Callable[[], Mapping[str, Any]], what: str, notes: list[str]) -> dict[str, Any]:
    """A whole part of the results (the blinding index, say): :func:`estimate` with nothing to name it."""
    return estimate({}, step, what, notes)


class Once(Generic[T]):
    """A computation several results share (one MMRM per instrument, one imputation per plan), run once.

    Every call returns the same value or raises :class:`NotEstimable` with the same reason, and
    re-issues the warnings the computation raised, so each result that uses it records them.
    """

    def __init__(self, compute: Callable[[], T], what: str = "") -> None:
        self.compute, self.what = compute, what
        self.done = False
        self.value: T | None = None
        self.failure = ""
        self.caught: list[warnings.WarningMessage] = []

    def __call__(self) -> T:
        if not self.done:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    self.value = self.compute()
                except FAILURES as problem:
                    self.failure = f"{self.what}: {reason_of(problem)}" if self.what else reason_of(problem)
            self.caught, self.done = list(caught), True
        for w in self.caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if self.failure:
            raise NotEstimable(self.failure)
        return self.value  # type: ignore[return-value]
