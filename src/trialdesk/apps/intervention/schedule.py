"""Session schedules as plain values: generation, bank holidays, cancelling, rescheduling, stopping early.

No Django here, so the calendar rules are tested on their own. Times are wall-clock times in the trial's
zone (Europe/Copenhagen by default): a group meeting at 18:00 meets at 18:00 in March and in November,
so every session's instant is built from its own local date and the wall time, never by adding 7 × 24 h
to a UTC instant (which would drift an hour at each daylight-saving change).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _

Frequency = Literal["weekly", "fortnightly", "monthly"]
Status = Literal["planned", "held", "cancelled", "rescheduled"]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Slot:
    """One session of a group's schedule."""

    number: int
    starts_at: dt.datetime  # timezone-aware
    status: Status = "planned"
    bank_holiday: str = ""  # the holiday's name when the date is one
    reason: str = ""  # why it was cancelled or rescheduled
    moved_from: dt.datetime | None = None

    @property
    def offered(self) -> bool:
        """Whether the session counts as offered to members: held ones only."""
        return self.status == "held"


def local_datetime(day: dt.date, at: dt.time, zone: str) -> dt.datetime:
    """The aware instant of wall time ``at`` on ``day`` in ``zone``; refuses a time the clocks skip."""
    tz = ZoneInfo(zone)
    candidate = dt.datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz)
    # A wall time inside the spring-forward gap does not survive a round trip through UTC.
    back = candidate.astimezone(dt.UTC).astimezone(tz)
    if back.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        raise UserError(
            _("%(at)s does not exist on %(day)s in %(zone)s (the clocks go forward): choose another time") % {
                "at": format(at, '%H:%M'), "day": day.isoformat(), "zone": zone}
        )
    return candidate


def first_on_weekday(start: dt.date, weekday: int) -> dt.date:
    """The first date on or after ``start`` that falls on ``weekday`` (0 = Monday)."""
    if not 0 <= weekday <= 6:
        raise UserError(_("weekday must be 0 (Monday) to 6 (Sunday), got %(weekday)s") % {
            "weekday": weekday})
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


def programme_end(start: dt.date, months: int) -> dt.date:
    """The first day after the programme: ``months`` calendar months after the first session."""
    return start + relativedelta(months=months)


def session_dates(start: dt.date, weekday: int, frequency: Frequency, months: int) -> list[dt.date]:
    """Dates of the sessions: the group's weekday from ``start``, at ``frequency``, for ``months`` months."""
    first = first_on_weekday(start, weekday)
    end = programme_end(first, months)
    if frequency == "monthly":
        # Same weekday each month: the first one on or after the same day of the month.
        dates = [first_on_weekday(first + relativedelta(months=i), weekday) for i in range(months)]
        return [d for d in dates if d < end]
    step = dt.timedelta(weeks=1 if frequency == "weekly" else 2)
    dates, day = [], first
    while day < end:
        dates.append(day)
        day += step
    return dates


def plan(
    start: dt.date,
    weekday: int,
    at: dt.time,
    *,
    frequency: Frequency,
    months: int,
    zone: str,
    holidays: Mapping[dt.date, str] | None = None,
    on_holiday: Literal["mark", "skip"] = "mark",
) -> list[Slot]:
    """A group's sessions, numbered from 1.

    ``holidays`` maps dates to names. ``mark`` keeps a session that falls on one, flagged, for the
    facilitators to cancel or move; ``skip`` leaves it out (the programme is not lengthened).
    """
    holidays = holidays or {}
    slots: list[Slot] = []
    for day in session_dates(start, weekday, frequency, months):
        name = holidays.get(day, "")
        if name and on_holiday == "skip":
            continue
        slots.append(Slot(number=len(slots) + 1, starts_at=local_datetime(day, at, zone), bank_holiday=name))
    return slots


def bank_holidays(country: str, years: Iterable[int], subdivision: str | None = None) -> dict[dt.date, str]:
    """Public holidays from the ``holidays`` package (kept up to date by its maintainers, e.g. Denmark's
    Great Prayer Day, abolished from 2024)."""
    import holidays as holiday_calendars

    try:
        calendar = holiday_calendars.country_holidays(country, subdiv=subdivision, years=sorted(set(years)))
    except NotImplementedError:
        raise UserError(
            _("no bank-holiday calendar for country %(country)s") % {"country": repr(country)}
        ) from None
    return {day: str(name) for day, name in calendar.items()}


def _find(slots: Sequence[Slot], number: int) -> Slot:
    for slot in slots:
        if slot.number == number:
            return slot
    raise UserError(_("there is no session %(number)s") % {"number": number})


def _changeable(slot: Slot, refusal: str) -> None:
    """``refusal`` (translated, with %(number)s and %(status)s) when the session is held or cancelled."""
    if slot.status in ("held", "cancelled"):
        raise UserError(refusal % {"number": slot.number, "status": slot.status})


def cancel(slots: Sequence[Slot], number: int, reason: str) -> list[Slot]:
    """The schedule with session ``number`` cancelled; needs a reason."""
    if not reason.strip():
        raise UserError(_("cancelling session %(number)s needs a reason") % {"number": number})
    slot = _find(slots, number)
    _changeable(slot, _("session %(number)s is %(status)s: a %(status)s session cannot be cancelled"))
    return [replace(s, status="cancelled", reason=reason.strip()) if s is slot else s for s in slots]


def check_move(
    slots: Sequence[Slot], number: int, to: dt.datetime, *, group_start: dt.date, zone: str
) -> Slot:
    """Session ``number`` moved to instant ``to``; refuses moves before the group's start or onto a day that
    already has another session of the group."""
    slot = _find(slots, number)
    _changeable(slot, _("session %(number)s is %(status)s: a %(status)s session cannot be rescheduled"))
    if to.tzinfo is None:
        raise UserError(_("a rescheduled time must carry its time zone"))
    tz = ZoneInfo(zone)
    day = to.astimezone(tz).date()
    if day < group_start:
        raise UserError(
            _(
                "a session cannot be before the group's start (%(group_start)s): session %(number)s was "
                "moved to %(day)s"
            ) % {"group_start": group_start.isoformat(), "number": number, "day": day.isoformat()}
        )
    for other in slots:
        if other is not slot and other.status != "cancelled" and other.starts_at.astimezone(tz).date() == day:
            raise UserError(_("session %(other_number)s of this group is already on %(day)s") % {
                "other_number": other.number, "day": day.isoformat()})
    return replace(slot, status="rescheduled", moved_from=slot.moved_from or slot.starts_at, starts_at=to)


def reschedule(
    slots: Sequence[Slot], number: int, to: dt.datetime, reason: str, *, group_start: dt.date, zone: str
) -> list[Slot]:
    """The schedule with session ``number`` moved to ``to`` (kept in number order); needs a reason."""
    if not reason.strip():
        raise UserError(_("rescheduling session %(number)s needs a reason") % {"number": number})
    moved = replace(check_move(slots, number, to, group_start=group_start, zone=zone), reason=reason.strip())
    return [moved if s.number == number else s for s in slots]


def stop(slots: Sequence[Slot], stop_on: dt.date, reason: str, zone: str) -> list[Slot]:
    """The schedule of a group stopped on ``stop_on``: sessions from that day on that were not held are
    cancelled with the stop's reason; held sessions stay as they were."""
    if not reason.strip():
        raise UserError(_("stopping a group needs a reason"))
    tz = ZoneInfo(zone)
    why = f"group stopped: {reason.strip()}"
    return [
        replace(slot, status="cancelled", reason=why)
        if slot.status in ("planned", "rescheduled") and slot.starts_at.astimezone(tz).date() >= stop_on
        else slot
        for slot in slots
    ]


def offered_count(slots: Iterable[Slot]) -> int:
    return sum(slot.offered for slot in slots)
