"""The schema of an instrument definition: frozen pydantic models, validated when loaded.

One TOML file per instrument (``definitions/<code>.toml``) loads into an :class:`Instrument`. Everything a
form, the scorer, the edit checks and the docs need is declared here; nothing about a scale is hard-coded
in the scoring function. Validation collects every problem of a definition, so a broken file is reported
in one go.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _

Number = int | float
Rater = Literal["assessor", "self", "clinician", "fidelity_rater", "staff"]
ItemKind = Literal["rating", "number", "choice", "text", "icd10"]
NUMERIC_KINDS = frozenset({"rating", "number"})
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_]*$"
# ICD-10 code as entered on a form: a letter, two digits, optionally a dot and up to four more characters.
ICD10_PATTERN = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
# The message context of the texts Instrument.translated() walks: a scale's "Other" or "Mild" is translated
# apart from the same word in the UI.
TEXT_CONTEXT = "instrument"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _number(value: Number) -> str:
    """A number as a person would write it: 2, not 2.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def describe_allowed(values: tuple[Number, ...]) -> str:
    """``0, 2, 4`` for short sets; ``1, 2, ..., 100`` for long evenly spaced ones."""
    if len(values) > 8:
        steps = {Fraction(str(b)) - Fraction(str(a)) for a, b in itertools.pairwise(values)}
        if len(steps) == 1:
            return f"{_number(values[0])}, {_number(values[1])}, ..., {_number(values[-1])}"
    return ", ".join(_number(v) for v in values)


class Anchor(Frozen):
    """A labelled value or band of values shown on the form (e.g. GAF 91-100)."""

    low: Number
    high: Number
    label: str = Field(min_length=1)


class Choice(Frozen):
    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1)


class MissingRule(Frozen):
    """When a score may be computed with items missing.

    At most ``max_missing_items`` items may be missing if it is given, otherwise at most
    ``floor(max_missing_fraction * n_items)``; with more missing the score is missing (None).
    """

    max_missing_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    max_missing_items: int | None = Field(default=None, ge=0)

    def allowed_missing(self, n_items: int) -> int:
        if self.max_missing_items is not None:
            return self.max_missing_items
        # The small epsilon keeps exactly 20 % of 30 items (6.000000000000001 or 5.999...) at 6.
        return math.floor(self.max_missing_fraction * n_items + 1e-9)


class Item(Frozen):
    """One item or field. Numeric items have ``minimum``/``maximum`` and, when discrete, ``allowed``."""

    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1)
    kind: ItemKind = "rating"
    allowed: tuple[Number, ...] = ()
    minimum: Number | None = None
    maximum: Number | None = None
    step: Number | None = Field(default=None, gt=0)
    choices: tuple[Choice, ...] = ()
    anchors: tuple[Anchor, ...] = ()
    required: bool = False
    scored: bool | None = None  # default: True for ratings, False for every other kind
    max_length: int | None = Field(default=None, gt=0)
    note: str = ""

    @model_validator(mode="after")
    def _normalise(self) -> Item:
        problems = self._problems()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _problems(self) -> list[str]:  # one flat list of independent checks reads best
        where = f"item {self.code}"
        problems: list[str] = []
        if self.scored is None:
            object.__setattr__(self, "scored", self.kind == "rating")
        if self.kind not in NUMERIC_KINDS:
            if self.allowed or self.minimum is not None or self.maximum is not None or self.step:
                problems.append(f"{where}: a {self.kind} item takes no allowed values, minimum, maximum "
                                "or step")
            if self.scored:
                problems.append(f"{where}: only numeric items can be scored")
            if self.kind == "choice" and not self.choices:
                problems.append(f"{where}: a choice item needs choices")
            codes = [choice.code for choice in self.choices]
            if len(set(codes)) != len(codes):
                problems.append(f"{where}: duplicate choice codes")
            return problems
        if self.choices:
            problems.append(f"{where}: a numeric item takes no choices")
        allowed = self.allowed
        if self.step is not None:
            if self.minimum is None or self.maximum is None:
                return [*problems, f"{where}: a step needs a minimum and a maximum"]
            span = (Fraction(str(self.maximum)) - Fraction(str(self.minimum))) / Fraction(str(self.step))
            if span.denominator != 1 or span < 0:
                return [*problems, f"{where}: step {_number(self.step)} does not divide the range "
                        f"{_number(self.minimum)} to {_number(self.maximum)}"]
            stepped = tuple(_tidy(Fraction(str(self.minimum)) + k * Fraction(str(self.step)))
                            for k in range(int(span) + 1))
            if allowed and set(allowed) != set(stepped):
                problems.append(f"{where}: allowed values {describe_allowed(allowed)} are inconsistent with "
                                f"minimum {_number(self.minimum)}, maximum {_number(self.maximum)} and step "
                                f"{_number(self.step)}")
            allowed = stepped
        if allowed:
            if len(set(allowed)) != len(allowed):
                problems.append(f"{where}: duplicate allowed values")
            allowed = tuple(sorted(set(allowed)))
            for bound, expected in (("minimum", allowed[0]), ("maximum", allowed[-1])):
                given = getattr(self, bound)
                if given is not None and given != expected:
                    problems.append(f"{where}: {bound} {_number(given)} is inconsistent with the allowed "
                                    f"values {describe_allowed(allowed)}")
            object.__setattr__(self, "allowed", allowed)
            object.__setattr__(self, "minimum", allowed[0])
            object.__setattr__(self, "maximum", allowed[-1])
        elif self.minimum is None or self.maximum is None:
            problems.append(f"{where}: a numeric item needs allowed values or a minimum and a maximum")
        elif self.minimum > self.maximum:
            problems.append(f"{where}: minimum {_number(self.minimum)} is above maximum "
                            f"{_number(self.maximum)}")
        if self.scored and not self.allowed and self.kind == "rating":
            problems.append(f"{where}: a rating needs a discrete set of allowed values (allowed or step)")
        for anchor in self.anchors:
            if anchor.low > anchor.high:
                problems.append(f"{where}: anchor {anchor.label!r} runs from {_number(anchor.low)} down to "
                                f"{_number(anchor.high)}")
            elif self.minimum is not None and self.maximum is not None and (
                    anchor.low < self.minimum or anchor.high > self.maximum):
                problems.append(f"{where}: anchor {anchor.label!r} ({_number(anchor.low)}-"
                                f"{_number(anchor.high)}) lies outside the range {_number(self.minimum)} "
                                f"to {_number(self.maximum)}")
        return problems

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def allowed_text(self) -> str:
        """The allowed values as an error message or a document states them."""
        if self.allowed:
            return describe_allowed(self.allowed)
        if self.kind == "choice":
            return ", ".join(choice.code for choice in self.choices)
        if self.numeric:
            return _("any number from %(low)s to %(high)s") % {
                "low": _number(self.minimum or 0), "high": _number(self.maximum or 0)}
        if self.kind == "icd10":
            return _("an ICD-10 code such as F20.0")
        if self.max_length:
            return _("text of at most %(length)s characters") % {"length": self.max_length}
        return _("any text")


def _tidy(value: Fraction) -> Number:
    return int(value) if value.denominator == 1 else float(value)


class Subscale(Frozen):
    name: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1)
    items: tuple[str, ...] = Field(min_length=1)
    missing: MissingRule | None = None  # None: the instrument's rule


class Category(Frozen):
    """A named band of a score: the category is the one with the highest ``at_least`` not above the score."""

    score: str = "total"
    label: str = Field(min_length=1)
    at_least: Number


class Check(Frozen):
    """An edit check a data manager's queries can raise automatically (see :mod:`.checks`).

    - ``range``: item or score ``target`` should lie within ``minimum``..``maximum`` (a soft limit inside the
      hard allowed range: a finding is a query, not a refusal);
    - ``sum``: score ``target`` should equal the sum of scores ``parts`` (e.g. a PANSS total written on paper
      against its subscale totals);
    - ``not_greater``: item ``target`` should not exceed item ``other``.
    """

    code: str = Field(pattern=CODE_PATTERN)
    kind: Literal["range", "sum", "not_greater"]
    target: str
    minimum: Number | None = None
    maximum: Number | None = None
    parts: tuple[str, ...] = ()
    other: str | None = None
    message: str = Field(min_length=1)


class Scoring(Frozen):
    method: Literal["sum", "mean"] = "sum"
    reversed: tuple[str, ...] = ()
    missing: MissingRule = MissingRule()
    # Prorated sums are rounded half up to this many decimals (see scoring.py for why).
    prorated_decimals: int = Field(default=0, ge=0, le=6)


class Instrument(Frozen):
    """A rating scale, questionnaire or typed form, as declared in its TOML definition."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    rater: Rater
    description: str = ""
    reference: str = ""
    period: str = ""
    notes: tuple[str, ...] = ()
    items: tuple[Item, ...] = Field(min_length=1)
    subscales: tuple[Subscale, ...] = ()
    scoring: Scoring = Scoring()
    categories: tuple[Category, ...] = ()
    checks: tuple[Check, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _apply_item_defaults(cls, data: Any) -> Any:
        """``[item_defaults]`` fills keys an item leaves out, so a 30-item scale states its range once."""
        if isinstance(data, dict) and "item_defaults" in data:
            data = dict(data)
            defaults = data.pop("item_defaults")
            if isinstance(defaults, dict) and isinstance(data.get("items"), list):
                data["items"] = [{**defaults, **item} if isinstance(item, dict) else item
                                 for item in data["items"]]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        problems = _instrument_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def translated(self, translate: Callable[[str], str]) -> Instrument:
        """The instrument with every text its form shows passed through ``translate``: names, period, item
        labels and notes, choices, anchors and subscale labels. Codes, values and rules are unchanged, and
        so are the description and notes (documentation), score categories and check messages (stored with
        the data they describe).

        The one walk over the form texts: the message catalogue collects them with it (`make messages`) and
        the form builder translates them with it.
        """
        data = self.model_dump()

        def text(value: str) -> str:
            return translate(value) if value else value  # gettext("") is the catalogue header

        for key in ("name", "short_name", "period"):
            data[key] = text(data[key])
        for item in data["items"]:
            item["label"], item["note"] = text(item["label"]), text(item["note"])
            for part in (*item["choices"], *item["anchors"]):
                part["label"] = text(part["label"])
        for subscale in data["subscales"]:
            subscale["label"] = text(subscale["label"])
        return Instrument.model_validate(data)

    # -- derived views -------------------------------------------------------------------------------------

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        # The key of the per-language caches of forms and texts, looked up for every form a worklist names:
        # pydantic's frozen hash walks the ~100 nested models each time (40 µs for PANSS). Frozen, so once.
        return hash(tuple(getattr(self, name) for name in type(self).model_fields))

    @cached_property
    def item_map(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}

    @cached_property
    def scored_items(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items if item.scored)

    @property
    def score_names(self) -> tuple[str, ...]:
        """``("total", *subscales)``; empty for a typed form with no scored items (e.g. ``baseline``)."""
        if not self.scored_items:
            return ()
        return ("total", *(subscale.name for subscale in self.subscales))

    def score_items(self, name: str) -> tuple[str, ...]:
        """The items a score is computed from."""
        if name == "total" and self.scored_items:
            return self.scored_items
        for subscale in self.subscales:
            if subscale.name == name:
                return subscale.items
        raise UserError(f"{self.code} has no score {name!r}; its scores are {_names(self.score_names)}")

    def missing_rule(self, name: str) -> MissingRule:
        for subscale in self.subscales:
            if subscale.name == name and subscale.missing is not None:
                return subscale.missing
        return self.scoring.missing

    def score_range(self, name: str) -> tuple[float, float]:
        """Lowest and highest possible value of a score, derived from its items' ranges."""
        items = [self.item_map[code] for code in self.score_items(name)]
        low = sum((Fraction(str(item.minimum)) for item in items), Fraction(0))
        high = sum((Fraction(str(item.maximum)) for item in items), Fraction(0))
        if self.scoring.method == "mean":
            low, high = low / len(items), high / len(items)
        return float(low), float(high)

    def category(self, name: str, value: float | None) -> str | None:
        if value is None:
            return None
        bands = sorted((c for c in self.categories if c.score == name), key=lambda c: c.at_least)
        chosen = None
        for band in bands:
            if value >= band.at_least:
                chosen = band.label
        return chosen


def _names(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names) if names else "(none)"


def _instrument_problems(instrument: Instrument) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for item in instrument.items:
        if item.code in seen:
            problems.append(f"duplicate item code {item.code}")
        seen.add(item.code)
    items = {item.code: item for item in instrument.items}
    score_names = {"total"} if any(item.scored for item in instrument.items) else set()
    for subscale in instrument.subscales:
        where = f"subscale {subscale.name}"
        if subscale.name in score_names:
            problems.append(f"{where}: duplicate score name")
        score_names.add(subscale.name)
        if len(set(subscale.items)) != len(subscale.items):
            problems.append(f"{where}: lists an item twice")
        for code in subscale.items:
            if code not in items:
                problems.append(f"{where}: unknown item {code}")
            elif not items[code].scored:
                problems.append(f"{where}: item {code} is not scored")
    for code in instrument.scoring.reversed:
        reversed_item = items.get(code)
        if reversed_item is None:
            problems.append(f"scoring.reversed: unknown item {code}")
        elif not reversed_item.scored:
            problems.append(f"scoring.reversed: item {code} is not scored")
        elif not _symmetric(reversed_item):
            problems.append(f"scoring.reversed: item {code}'s allowed values {reversed_item.allowed_text} "
                            "are not symmetric, so reversing them would leave the allowed set")
    problems.extend(f"categories: {category.label!r} refers to unknown score {category.score!r}"
                    for category in instrument.categories if category.score not in score_names)
    for check in instrument.checks:
        problems.extend(_check_problems(check, items, score_names, instrument))
    return problems


def _symmetric(item: Item) -> bool:
    """Reversal maps v to minimum + maximum - v; the allowed set must map onto itself."""
    if item.minimum is None or item.maximum is None:
        return False
    low, high = Fraction(str(item.minimum)), Fraction(str(item.maximum))
    allowed = {Fraction(str(v)) for v in item.allowed}
    return {low + high - v for v in allowed} == allowed


def _check_problems(check: Check, items: dict[str, Item], score_names: set[str],
                    instrument: Instrument) -> list[str]:
    where = f"check {check.code}"
    known = set(items) | score_names
    if check.kind == "range":
        if check.target not in known:
            return [f"{where}: unknown item or score {check.target}"]
        if check.minimum is None and check.maximum is None:
            return [f"{where}: a range check needs a minimum or a maximum"]
        return []
    if check.kind == "not_greater":
        return [f"{where}: unknown item {code}" for code in (check.target, check.other)
                if code is None or code not in items or not items[code].numeric]
    unknown = [name for name in (check.target, *check.parts) if name not in score_names]
    if unknown or not check.parts:
        return [f"{where}: a sum check needs known scores; unknown: {_names(unknown)}"]
    # The parts must split the target's items exactly, or the check would flag consistent data.
    covered: list[str] = []
    for part in check.parts:
        covered.extend(_raw_score_items(instrument, part, items))
    target = _raw_score_items(instrument, check.target, items)
    if sorted(covered) != sorted(target) or instrument.scoring.method != "sum":
        return [f"{where}: scores {_names(list(check.parts))} do not add up to {check.target} "
                "(their items must split its items exactly, and the method must be sum)"]
    return []


def _raw_score_items(instrument: Instrument, name: str, items: dict[str, Item]) -> list[str]:
    if name == "total":
        return [code for code, item in items.items() if item.scored]
    return next((list(s.items) for s in instrument.subscales if s.name == name), [])
