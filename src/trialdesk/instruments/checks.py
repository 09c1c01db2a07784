"""Edit checks declared in instrument definitions, evaluated into findings a query can be raised from.

A finding is not an error: the values are allowed, but implausible or inconsistent, so a data manager
asks the site. Values outside the allowed set never get this far (:func:`check_responses` refuses them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trialdesk.instruments.schema import Check, Instrument, _number
from trialdesk.instruments.scoring import Scores, _resolve, check_responses, score

# Scores recorded on paper are compared with a tolerance that absorbs float noise, not real differences.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Finding:
    """One failed edit check: ``target`` is the item or score a query should be raised on."""

    instrument: str
    check: str
    target: str
    message: str


def run_checks(
    instrument_or_code: Instrument | str,
    responses: Mapping[str, object],
    recorded: Mapping[str, float | None] | None = None,
) -> list[Finding]:
    """Evaluate every declared check on one form.

    ``recorded`` holds scores written down by the rater (e.g. a PANSS total from a paper form); a ``sum``
    check compares those where given and falls back to the computed scores, skipping prorated ones
    (proration of a total and of its subscales differ by design). Checks whose values are missing are
    skipped: missingness is handled by the missing-item rule, not by queries here.
    """
    instrument = _resolve(instrument_or_code)
    values = check_responses(instrument, responses)
    scores: Scores | None = score(instrument, responses) if instrument.score_names else None
    available: dict[str, float | None] = {}
    if scores is not None:
        available.update({name: None if name in scores.prorated_scores else value
                          for name, value in scores.values.items()})
    for name, value in (recorded or {}).items():
        if name not in instrument.score_names:
            from trialdesk.errors import UserError

            raise UserError(f"{instrument.code}: unknown score {name!r} in recorded scores; its scores are "
                            f"{', '.join(instrument.score_names) or '(none)'}")
        if value is not None:
            available[name] = float(value)
    findings = []
    for check in instrument.checks:
        message = _evaluate(check, values, available)
        if message is not None:
            findings.append(Finding(instrument.code, check.code, check.target, message))
    return findings


def _numeric(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _evaluate(check: Check, values: Mapping[str, object], scores: Mapping[str, float | None]) -> str | None:
    if check.kind == "range":
        value = _numeric(values[check.target]) if check.target in values else scores.get(check.target)
        if value is None:
            return None
        if (check.minimum is not None and value < check.minimum) or (
                check.maximum is not None and value > check.maximum):
            return f"{check.message} ({check.target} = {_number(value)})"
        return None
    if check.kind == "not_greater":
        left, right = _numeric(values[check.target]), _numeric(values[check.other or ""])
        if left is None or right is None or left <= right:
            return None
        return f"{check.message} ({check.target} = {_number(left)}, {check.other} = {_number(right)})"
    parts = [scores.get(part) for part in check.parts]
    target = scores.get(check.target)
    if target is None or any(part is None for part in parts):
        return None
    added = sum(part for part in parts if part is not None)
    if abs(added - target) <= TOLERANCE:
        return None
    parts_text = " + ".join(check.parts)
    return f"{check.message} ({check.target} = {_number(target)}, {parts_text} = {_number(added)})"
