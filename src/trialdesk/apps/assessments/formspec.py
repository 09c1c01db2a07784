"""One generic form builder: what an entry form shows for an instrument, derived from its definition.

Pure (no Django): the templates render a :class:`FormSpec`; nothing about a particular scale is written
here. The layout follows from the definition:

- ``single``: one scored item (GAF-F, GAF-S, PSP) shown large with its anchor bands; other items below;
- ``grid``: many items sharing one set of allowed values and anchors (PANSS, MHRM): one legend, one row
  per item, sections when the subscales are contiguous runs of items (PANSS P / N / G);
- ``list``: items with their own ranges (HAM-D, YMRS, AUDIT);
- ``typed``: a form of typed fields without scores (baseline characteristics).

Every discrete item carries its allowed values as options, so a touch page can offer them as buttons and
a weighted item (AUDIT 9-10: 0, 2, 4) is entered from a list holding only those values.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise
from typing import Literal

from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from trialdesk.instruments import TEXT_CONTEXT, Anchor, Instrument, Item, get_library

Widget = Literal["number", "select", "text", "textarea", "icd10"]
Layout = Literal["single", "grid", "list", "typed"]
# Above this many allowed values a discrete item is typed, not picked from buttons.
MAX_OPTIONS = 11
# Grids need enough items to be worth a shared legend.
GRID_MIN_ITEMS = 10
TEXTAREA_FROM = 200


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    code: str
    label: str
    widget: Widget
    options: tuple[Option, ...] = ()
    minimum: str = ""
    maximum: str = ""
    step: str = ""
    allowed_text: str = ""
    anchors: tuple[Anchor, ...] = ()
    required: bool = False
    scored: bool = False
    note: str = ""
    max_length: int | None = None

    @property
    def name(self) -> str:
        """The form field name: item codes may be digits, which are poor HTML names on their own."""
        return f"item_{self.code}"

    @property
    def discrete(self) -> bool:
        return bool(self.options)


@dataclass(frozen=True)
class Section:
    label: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class FormSpec:
    instrument: str
    name: str
    short_name: str
    rater: str
    period: str
    layout: Layout
    sections: tuple[Section, ...]
    legend: tuple[Anchor, ...] = ()
    notes: tuple[str, ...] = ()
    score_labels: tuple[tuple[str, str], ...] = ()  # (score name, what the page calls it)

    def score_label(self, name: str) -> str:
        return dict(self.score_labels).get(name, name)

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(field for section in self.sections for field in section.fields)

    def field(self, code: str) -> FieldSpec:
        for field in self.fields:
            if field.code == code:
                return field
        raise KeyError(code)


def number_text(value: float | int | None) -> str:
    """2, not 2.0; empty for None."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _typed_step(values: tuple[float | int, ...]) -> str | None:
    """The step of an evenly spaced set with steps of at most 1 (typed as a number), else None.

    Whole points (PANSS 1-7) and half points (YMRS 0, 0.5, ..., 4) are typed; weighted sets (AUDIT 9-10:
    0, 2, 4) and irregular ones are picked from a list holding only their values.
    """
    steps = {Fraction(str(b)) - Fraction(str(a)) for a, b in pairwise(values)}
    if len(steps) != 1:
        return None
    (step,) = steps
    return number_text(float(step)) if step <= 1 else None


def _option_label(item: Item, value: float | int) -> str:
    for anchor in item.anchors:
        if anchor.low == anchor.high == value:
            return anchor.label
    return ""


def field_for(item: Item) -> FieldSpec:
    """The entry field of one item."""
    options: tuple[Option, ...] = ()
    if item.kind == "choice":
        options = tuple(Option(choice.code, choice.label) for choice in item.choices)
    elif item.allowed and len(item.allowed) <= MAX_OPTIONS:
        options = tuple(Option(number_text(v), _option_label(item, v)) for v in item.allowed)
    widget: Widget
    if item.kind == "choice":
        widget = "select"
    elif item.numeric:
        # Whole or half points are typed (fast); irregular or weighted sets offer only their values.
        widget = "number" if not item.allowed or _typed_step(item.allowed) else "select"
        if widget == "select" and not options:
            options = tuple(Option(number_text(v), _option_label(item, v)) for v in item.allowed)
    elif item.kind == "icd10":
        widget = "icd10"
    else:
        widget = "textarea" if item.max_length is None or item.max_length >= TEXTAREA_FROM else "text"
    step = ""
    if item.numeric:
        typed = _typed_step(item.allowed) if item.allowed else None
        step = typed or (number_text(item.step) if item.step else "any")
    return FieldSpec(
        code=item.code,
        label=item.label,
        widget=widget,
        options=options,
        minimum=number_text(item.minimum) if item.numeric else "",
        maximum=number_text(item.maximum) if item.numeric else "",
        step=step,
        allowed_text=item.allowed_text,
        # Single-value anchors become option labels; bands (GAF 91-100) stay anchors.
        anchors=tuple(a for a in item.anchors if a.low != a.high) or (() if options else item.anchors),
        required=item.required,
        scored=bool(item.scored),
        note=item.note,
        max_length=item.max_length,
    )


def _shared_legend(items: tuple[Item, ...]) -> tuple[Anchor, ...] | None:
    """The anchors every scored item shares, when they also share their allowed values."""
    scored = [item for item in items if item.scored]
    if len(scored) < GRID_MIN_ITEMS:
        return None
    first = scored[0]
    if any(item.allowed != first.allowed or item.anchors != first.anchors for item in scored):
        return None
    return first.anchors


def _sections(instrument: Instrument, fields: dict[str, FieldSpec]) -> tuple[Section, ...]:
    """Subscale sections when they cut the item list into contiguous runs, so tab order is item order."""
    order = [item.code for item in instrument.items]
    runs: list[tuple[str, list[str]]] = []
    position = 0
    for subscale in instrument.subscales:
        run = order[position : position + len(subscale.items)]
        if run != list(subscale.items):
            return (Section("", tuple(fields.values())),)
        runs.append((subscale.label, run))
        position += len(run)
    if not runs or position != len([i for i in instrument.items if i.scored]):
        return (Section("", tuple(fields.values())),)
    sections = [Section(label, tuple(fields[code] for code in run)) for label, run in runs]
    rest = tuple(fields[code] for code in order[position:])
    if rest:
        sections.append(Section("", rest))
    return tuple(sections)


def build(instrument: Instrument) -> FormSpec:
    """The form of ``instrument``: layout, sections in item order, and every field.

    Cached per language (the instrument's texts, allowed-value hints and section names are translated):
    instruments and specs are frozen, and building one took 2-3 ms of every form page.
    """
    return _build(instrument, get_language())


def localised(instrument: Instrument) -> Instrument:
    """The instrument with its form texts in the active language (the Danish catalogue has them, context
    ``instrument``; `make messages` collects them from the definitions)."""
    return _localised(instrument, get_language())


@lru_cache(maxsize=128)
def _localised(instrument: Instrument, language: str | None) -> Instrument:  # language: the cache key only
    return instrument.translated(lambda text: pgettext(TEXT_CONTEXT, text))


def short_name(code: str) -> str:
    """An instrument's short name in the active language, for lists of forms."""
    return localised(get_library().get(code)).short_name


@lru_cache(maxsize=128)
def _build(instrument: Instrument, language: str | None) -> FormSpec:  # language: the cache key only
    instrument = _localised(instrument, language)
    labels = {"total": _("Total"), **{subscale.name: subscale.label for subscale in instrument.subscales}}
    fields = {item.code: field_for(item) for item in instrument.items}
    legend: tuple[Anchor, ...] = ()
    scored = [item for item in instrument.items if item.scored]
    layout: Layout
    if not scored:
        layout = "typed"
        sections = (Section("", tuple(fields.values())),)
    elif len(scored) == 1:
        layout = "single"
        main = fields[scored[0].code]
        others = tuple(field for code, field in fields.items() if code != main.code)
        sections = (Section("", (main,)),) + ((Section(_("Supporting ratings"), others),) if others else ())
    else:
        shared = _shared_legend(instrument.items)
        layout = "grid" if shared is not None else "list"
        legend = shared or ()
        sections = _sections(instrument, fields)
    return FormSpec(
        instrument=instrument.code,
        name=instrument.name,
        short_name=instrument.short_name,
        rater=instrument.rater,
        period=instrument.period,
        layout=layout,
        sections=sections,
        legend=legend,
        notes=instrument.notes,
        score_labels=tuple((name, labels[name]) for name in instrument.score_names),
    )
