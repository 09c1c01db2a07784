"""The visit schedule: target dates, windows and states, computed from the baseline date and the protocol.

Pure functions (no Django). Months are calendar months, clamped to the month's end (31 January plus one
month is 28 or 29 February), as clinical schedules are booked; a fractional part of a month counts as
days at the mean month length (30.4375 days).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trialdesk.protocol.schema import Visit

MEAN_MONTH_DAYS = 365.25 / 12


def add_months(day: dt.date, months: float) -> dt.date:
    """``day`` plus ``months`` (negative allowed), clamping to the last day of a shorter month."""
    whole = int(months)  # truncates toward zero, so -1.5 is -1 month and -15 days
    index = day.year * 12 + (day.month - 1) + whole
    year, month = divmod(index, 12)
    month += 1
    shifted = dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    return shifted + dt.timedelta(days=round((months - whole) * MEAN_MONTH_DAYS))


class VisitState(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    OVERDUE = "overdue"
    DONE = "done"
    DONE_OUT_OF_WINDOW = "done_out_of_window"
    MISSED = "missed"


@dataclass(frozen=True)
class Window:
    target: dt.date
    opens: dt.date
    closes: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.opens <= day <= self.closes


def window(baseline: dt.date, month: float, before_months: float, after_months: float) -> Window:
    target = add_months(baseline, month)
    return Window(target, add_months(target, -before_months), add_months(target, after_months))


def visit_window(baseline: dt.date, visit: Visit) -> Window:
    return window(baseline, visit.month, visit.window_before_months, visit.window_after_months)


def state(win: Window, today: dt.date, done_on: dt.date | None = None, missed: bool = False) -> VisitState:
    """Where a visit stands on ``today``: a done visit outside its window is a protocol deviation."""
    if done_on is not None:
        return VisitState.DONE if win.contains(done_on) else VisitState.DONE_OUT_OF_WINDOW
    if missed:
        return VisitState.MISSED
    if today < win.opens:
        return VisitState.UPCOMING
    if today <= win.closes:
        return VisitState.OPEN
    return VisitState.OVERDUE
