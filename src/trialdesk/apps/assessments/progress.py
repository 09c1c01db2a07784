"""Where a visit stands, from its instruments' statuses and dates: pure functions (no Django).

The visit's state itself comes from :func:`trialdesk.visits.state`; this module decides which date counts
as the visit's date and what is still missing.

- An instrument is *resolved* when it is complete or recorded as not done.
- A visit is finished when every instrument is resolved. If at least one is complete, the visit date is
  the earliest completed form's date (the day the visit took place; forms finished later, such as
  self-reports returned by post, do not move it). If none is complete, the visit is missed.
- The anchor visit (month 0) is never out of window or overdue: its date defines the schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trialdesk.visits import VisitState, Window, state

DRAFT, COMPLETE, NOT_DONE = "draft", "complete", "not_done"
RESOLVED = frozenset({COMPLETE, NOT_DONE})


@dataclass(frozen=True)
class Progress:
    state: VisitState
    visit_date: dt.date | None
    missing: tuple[str, ...]
    drafts: tuple[str, ...]

    @property
    def finished(self) -> bool:
        return not self.missing


def missing(expected: Iterable[str], statuses: Mapping[str, str]) -> tuple[str, ...]:
    """Instruments of the visit not yet complete or recorded as not done, in protocol order."""
    return tuple(code for code in expected if statuses.get(code) not in RESOLVED)


def progress(
    expected: Iterable[str],
    statuses: Mapping[str, str],
    completed_on: Mapping[str, dt.date],
    win: Window | None,
    today: dt.date,
    *,
    anchor: bool = False,
    missed: bool = False,
) -> Progress:
    """The visit's state on ``today``; ``win`` is None until the anchor visit is dated."""
    codes = tuple(expected)
    still = missing(codes, statuses)
    drafts = tuple(code for code in codes if statuses.get(code) == DRAFT)
    dates = [completed_on[code] for code in codes if statuses.get(code) == COMPLETE and code in completed_on]
    if missed:
        return Progress(VisitState.MISSED, None, still, drafts)
    if not still:
        if not dates:
            return Progress(VisitState.MISSED, None, still, drafts)
        visit_date = min(dates)
        if anchor or win is None:
            return Progress(VisitState.DONE, visit_date, still, drafts)
        return Progress(state(win, today, done_on=visit_date), visit_date, still, drafts)
    if anchor:
        # The schedule runs from the anchor visit, so it is open until finished, never overdue.
        return Progress(VisitState.OPEN, None, still, drafts)
    if win is None:
        # Not yet dated: a later visit waits for the anchor visit.
        return Progress(VisitState.UPCOMING, None, still, drafts)
    return Progress(state(win, today), None, still, drafts)
