"""Register counts per participant and period: the ``register`` analysis table (pure, no Django).

Periods come from the protocol's register outcomes: their ``visits`` are the ends of the counting
periods, each starting at the previous one, the first at the first visit (baseline); for the IMR trial
``baseline-m9`` and ``m9-m21``. A period runs from ``add_months(baseline, start month)`` up to, not
including, ``add_months(baseline, end month)``, so every day belongs to exactly one period.

Counting rules, per period:

* admissions, ER visits, outpatient contacts: events *starting* on a day observed in the period;
* bed days: days spent in hospital, counted by date: an admission occupies the dates from its admission
  date up to, not including, its discharge date (the nights spent, as a midnight census counts them);
  a same-day admission (discharged the day it started) occupies its one date, so it counts as one bed
  day. Dates are clipped at the period's edges (an admission spanning the 9-month boundary is split
  between the periods) and overlapping admissions occupy a date once;
* follow-up days: days observed in the period, ending early at the participant's end of follow-up
  (death, withdrawal from register data collection, loss to follow-up) or at ``through``, the last date
  the extract covers. Periods with no observed day are left out, as they carry no information (an
  offset of log 0).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from trialdesk import datasets
from trialdesk.visits import add_months

if TYPE_CHECKING:
    from trialdesk.protocol.schema import Protocol

ONE_DAY = dt.timedelta(days=1)
COUNTED = {"admission": "admissions", "er_visit": "er_visits", "outpatient_contact": "outpatient_contacts"}


@dataclass(frozen=True)
class Period:
    code: str
    start_month: int
    end_month: int

    def bounds(self, baseline: dt.date) -> tuple[dt.date, dt.date]:
        """First day and the day after the last day of the period for a participant."""
        return add_months(baseline, self.start_month), add_months(baseline, self.end_month)


@dataclass(frozen=True)
class Observation:
    """A participant's register follow-up: from ``baseline`` up to, not including, ``ends`` (if ended)."""

    trial_id: str
    baseline: dt.date
    ends: dt.date | None = None


@dataclass(frozen=True)
class Event:
    trial_id: str
    kind: str
    start: dt.date
    end: dt.date


def periods(protocol: Protocol) -> tuple[Period, ...]:
    """The counting periods the protocol's register outcomes declare, in time order."""
    ends = {code for outcome in protocol.outcomes if outcome.source == "register" for code in outcome.visits}
    if not ends:
        return ()
    months = {visit.code: visit.month for visit in protocol.visits}
    ordered = sorted(ends, key=lambda code: months[code])
    starts = [protocol.visits[0].code, *ordered[:-1]]
    pairs = zip(starts, ordered, strict=True)
    return tuple(Period(f"{start}-{end}", months[start], months[end]) for start, end in pairs)


def occupied(event: Event) -> tuple[dt.date, dt.date]:
    """The dates an admission occupies, as [first, after-last): a same-day admission occupies one."""
    return event.start, max(event.end, event.start + ONE_DAY)


def _merged(spans: Iterable[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    merged: list[tuple[dt.date, dt.date]] = []
    for first, after in sorted(spans):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], after))
        else:
            merged.append((first, after))
    return merged


def _overlap(span: tuple[dt.date, dt.date], first: dt.date, after: dt.date) -> int:
    return max(0, (min(span[1], after) - max(span[0], first)).days)


def observed_end(observation: Observation, period_after: dt.date, through: dt.date | None) -> dt.date:
    """The day after the last observed day of a period."""
    end = period_after
    if observation.ends is not None:
        end = min(end, observation.ends)
    if through is not None:
        end = min(end, through + ONE_DAY)
    return end


def counts(
    observations: Iterable[Observation],
    events: Iterable[Event],
    spec: tuple[Period, ...],
    *,
    through: dt.date | None = None,
) -> pd.DataFrame:
    """The ``register`` table: one row per participant and observed period (see the module rules)."""
    by_participant: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_participant[event.trial_id].append(event)
    rows = []
    for observation in sorted(observations, key=lambda o: o.trial_id):
        own = by_participant.get(observation.trial_id, [])
        stays = _merged(occupied(e) for e in own if e.kind == "admission")
        for period in spec:
            first, after = period.bounds(observation.baseline)
            end = observed_end(observation, after, through)
            if end <= first:
                continue
            row: dict[str, object] = {"trial_id": observation.trial_id, "period": period.code}
            for kind, column in COUNTED.items():
                row[column] = sum(1 for e in own if e.kind == kind and first <= e.start < end)
            row["bed_days"] = sum(_overlap(stay, first, end) for stay in stays)
            row["followup_days"] = float((end - first).days)
            rows.append(row)
    table = datasets.TABLES["register"]
    frame = pd.DataFrame(rows, columns=table.column_names)
    for column in ("admissions", "bed_days", "er_visits", "outpatient_contacts"):
        frame[column] = frame[column].astype("int64")
    frame["followup_days"] = frame["followup_days"].astype("float64")
    return datasets.check("register", frame)
