"""Checking responses against an instrument and scoring them: pure functions, no I/O.

Missing items (absent, ``None``, NaN or an empty string) follow the instrument's missing-item rule. With
items missing but within the rule, a sum is prorated::

    total = sum(observed) * n_items / n_observed

computed exactly (fractions) and rounded half up to ``scoring.prorated_decimals`` decimals (0 unless a
definition says otherwise). Whole numbers because a complete total of whole-number items is a whole number
and a prorated total should sit on the same grid as the totals it is analysed with; half up, not Python's
round-half-to-even, because that is how the scales are scored by hand and what SAS ``ROUND`` and
spreadsheets do, so a data manager re-computing a score by hand gets the same number. A mean score is the
mean of the observed items, which is already its prorated value, and is not rounded. Complete scores are
never rounded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _
from trialdesk.instruments.schema import ICD10_PATTERN, Instrument, Item, Number, _number

Value = int | float | str | None


@dataclass(frozen=True)
class Scores:
    """The scores of one completed instrument.

    ``values`` maps each score name (``total`` first, then subscales) to its value, or to None when the
    missing-item rule says the score is missing. ``prorated_scores`` names the scores computed with items
    missing; ``prorated`` is true when there is any.
    """

    instrument: str
    values: dict[str, float | None]
    missing_items: tuple[str, ...] = ()
    prorated_scores: tuple[str, ...] = ()
    categories: dict[str, str | None] = field(default_factory=dict)

    @property
    def prorated(self) -> bool:
        return bool(self.prorated_scores)


def _resolve(instrument_or_code: Instrument | str) -> Instrument:
    if isinstance(instrument_or_code, Instrument):
        return instrument_or_code
    from trialdesk.instruments.library import get_library

    return get_library().get(instrument_or_code)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _check_value(instrument: Instrument, item: Item, value: object) -> Value:
    """The value, normalised, or a UserError naming instrument, item and allowed values."""

    def refuse(problem: str, shown: object) -> UserError:
        return UserError(problem % {"instrument": instrument.code, "item": item.code, "value": shown,
                                    "allowed": item.allowed_text})

    if item.numeric:
        number: Number
        not_a_number = _("%(instrument)s item %(item)s: %(value)r is not a number; allowed values are "
                         "%(allowed)s")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise refuse(not_a_number, value)
        if isinstance(value, str):
            # Forms and CSV imports deliver text; accept a number written as text, nothing else.
            try:
                number = float(value.strip())
            except ValueError:
                raise refuse(not_a_number, value) from None
        else:
            number = value
        if not math.isfinite(number):
            raise refuse(not_a_number, value)
        if float(number).is_integer():
            number = int(number)
        if item.allowed:
            if number not in item.allowed:
                raise refuse(_("%(instrument)s item %(item)s: %(value)s is not allowed; allowed values are "
                               "%(allowed)s"), _number(number))
        elif not item.minimum <= number <= item.maximum:  # type: ignore[operator]
            raise refuse(_("%(instrument)s item %(item)s: %(value)s is out of range; allowed values are "
                           "%(allowed)s"), _number(number))
        return number
    if not isinstance(value, str):
        raise refuse(_("%(instrument)s item %(item)s: %(value)r is not text; allowed values are %(allowed)s"),
                     value)
    text = value.strip()
    if item.kind == "choice" and text not in {choice.code for choice in item.choices}:
        raise refuse(_("%(instrument)s item %(item)s: %(value)r is not allowed; allowed values are "
                       "%(allowed)s"), text)
    if item.kind == "icd10":
        text = text.upper()
        if not ICD10_PATTERN.match(text):
            raise refuse(_("%(instrument)s item %(item)s: %(value)r is not an ICD-10 code; allowed values "
                           "are %(allowed)s"), value)
    if item.max_length is not None and len(text) > item.max_length:
        raise refuse(_("%(instrument)s item %(item)s: the text has %(value)s characters; allowed values "
                       "are %(allowed)s"), len(text))
    return text


def check_responses(
    instrument_or_code: Instrument | str, responses: Mapping[str, object]
) -> dict[str, Value]:
    """Every item's value (None when missing), checked and normalised.

    Raises UserError for an unknown item code, a value that is not allowed (naming the allowed values), or a
    required item that is missing. Keys are item codes; numbers written as text are accepted.
    """
    instrument = _resolve(instrument_or_code)
    items = instrument.item_map
    unknown = [str(code) for code in responses if str(code) not in items]
    if unknown:
        raise UserError(f"{instrument.code}: unknown item {', '.join(unknown)}; its items are "
                        f"{', '.join(items)}")
    given = {str(code): value for code, value in responses.items()}
    checked: dict[str, Value] = {}
    for code, item in items.items():
        value = given.get(code)
        if _is_missing(value):
            if item.required:
                raise UserError(f"{instrument.code} item {code} is required but missing")
            checked[code] = None
        else:
            checked[code] = _check_value(instrument, item, value)
    return checked


def _exact(value: object) -> int | Fraction:
    """Exact arithmetic: whole numbers stay ints (fast); others become the decimal they were written as."""
    if isinstance(value, int):
        return value
    return Fraction(str(value))


def _round_half_up(value: Fraction, decimals: int) -> Fraction:
    scale = Fraction(10) ** decimals
    return Fraction(math.floor(value * scale + Fraction(1, 2))) / scale


def score(instrument_or_code: Instrument | str, responses: Mapping[str, object]) -> Scores:
    """Score one completed instrument; see the module docstring for the missing-item rule and rounding."""
    instrument = _resolve(instrument_or_code)
    if not instrument.score_names:
        raise UserError(f"{instrument.code} has no scores: it is a form of typed fields; check its values "
                        "with check_responses() instead")
    values = check_responses(instrument, responses)
    reversed_items = set(instrument.scoring.reversed)
    items = instrument.item_map
    results: dict[str, float | None] = {}
    prorated: list[str] = []
    for name in instrument.score_names:
        codes = instrument.score_items(name)
        observed: list[int | Fraction] = []
        for code in codes:
            value = values[code]
            if value is None:
                continue
            number = _exact(value)
            if code in reversed_items:
                item = items[code]
                number = _exact(item.minimum) + _exact(item.maximum) - number
            observed.append(number)
        n_missing = len(codes) - len(observed)
        if not observed or n_missing > instrument.missing_rule(name).allowed_missing(len(codes)):
            results[name] = None
            continue
        total = sum(observed, 0)
        result: int | Fraction
        if instrument.scoring.method == "mean":
            result = Fraction(total) / len(observed)
        elif n_missing:
            result = _round_half_up(Fraction(total) * len(codes) / len(observed),
                                    instrument.scoring.prorated_decimals)
        else:
            result = total
        if n_missing:
            prorated.append(name)
        results[name] = float(result)
    missing = tuple(code for code in instrument.scored_items if values[code] is None)
    return Scores(
        instrument=instrument.code,
        values=results,
        missing_items=missing,
        prorated_scores=tuple(prorated),
        categories={name: instrument.category(name, results[name])
                    for name in dict.fromkeys(c.score for c in instrument.categories)},
    )
