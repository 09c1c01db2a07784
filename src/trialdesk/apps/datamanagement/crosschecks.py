"""Cross-visit edit checks over one participant's dated forms (plain objects; no database here).

The instrument definitions declare checks within one form (:mod:`trialdesk.instruments.checks`); these
compare forms of different visits. Entry refuses a form dated before the baseline's scheduled date, but
the data can still end up inconsistent (a baseline form's date corrected later, a follow-up form dated
before randomisation), so the checks run on every change and raise queries rather than refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

BEFORE_BASELINE = "visit.before_baseline"
BEFORE_RANDOMISATION = "visit.before_randomisation"
OUT_OF_ORDER = "visit.out_of_order"


@dataclass(frozen=True)
class DatedForm:
    visit: str
    sequence: int
    month: float
    before_randomisation: bool
    instrument: str
    assessed_on: dt.date


@dataclass(frozen=True)
class VisitFinding:
    check: str
    visit: str
    instrument: str
    message: str
    field: str = "assessed_on"


def _visit_dates(forms: list[DatedForm]) -> dict[str, tuple[int, dt.date]]:
    """Each visit's date: its earliest complete form (as the assessments app dates a visit)."""
    dates: dict[str, tuple[int, dt.date]] = {}
    for form in forms:
        known = dates.get(form.visit)
        if known is None or form.assessed_on < known[1]:
            dates[form.visit] = (form.sequence, form.assessed_on)
    return dates


def cross_visit_findings(forms: Iterable[DatedForm], randomised_on: dt.date | None) -> list[VisitFinding]:
    forms = sorted(forms, key=lambda f: (f.sequence, f.instrument))
    baseline = [f for f in forms if f.month == 0]
    baseline_date = min((f.assessed_on for f in baseline), default=None)
    dates = _visit_dates([f for f in forms if f.month > 0])
    findings = []
    for form in forms:
        if form.month == 0:
            continue
        if baseline_date is not None and form.assessed_on < baseline_date:
            findings.append(VisitFinding(
                BEFORE_BASELINE, form.visit, form.instrument,
                f"{form.instrument} at visit {form.visit} is dated {form.assessed_on}, before the baseline "
                f"visit ({baseline_date})",
            ))  # fmt: skip
            continue
        if randomised_on is not None and not form.before_randomisation and form.assessed_on < randomised_on:
            findings.append(VisitFinding(
                BEFORE_RANDOMISATION, form.visit, form.instrument,
                f"{form.instrument} at visit {form.visit} is dated {form.assessed_on}, before randomisation "
                f"({randomised_on})",
            ))  # fmt: skip
            continue
        earlier = [
            (code, on) for code, (seq, on) in dates.items() if seq < form.sequence and on > form.assessed_on
        ]
        if earlier:
            code, on = max(earlier, key=lambda pair: pair[1])
            findings.append(VisitFinding(
                OUT_OF_ORDER, form.visit, form.instrument,
                f"{form.instrument} at visit {form.visit} is dated {form.assessed_on}, before the earlier "
                f"visit {code} ({on})",
            ))  # fmt: skip
    return findings
