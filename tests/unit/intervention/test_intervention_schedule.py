"""Session schedules: weekly rhythm in wall time across daylight-saving changes, bank holidays, cancelled and
rescheduled sessions, and groups that stop early. Expected dates and offsets are from the calendar
(EU summer time: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC; in 2011 those are
27 March and 30 October), not from the code under test."""

import datetime as dt
import itertools
import subprocess
import sys

import pytest

from trialdesk.apps.intervention import schedule
from trialdesk.errors import UserError

CPH = "Europe/Copenhagen"
EIGHTEEN = dt.time(18, 0)


def weekly(start=dt.date(2011, 3, 1), weekday=1, at=EIGHTEEN, **kw):
    return schedule.plan(start, weekday, at, frequency="weekly", months=9, zone=CPH, **kw)


def test_the_module_imports_without_django():
    code = (
        "import sys, trialdesk.apps.intervention.schedule\n"
        "sys.exit(any(m.startswith('django') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_weekly_for_nine_months_from_a_march_start():
    slots = weekly()
    # Tuesday 1 March 2011 to Tuesday 29 November 2011 (1 December is the first day after 9 months).
    assert slots[0].starts_at.date() == dt.date(2011, 3, 1)
    assert slots[-1].starts_at.date() == dt.date(2011, 11, 29)
    assert len(slots) == 40
    assert [s.number for s in slots] == list(range(1, 41))
    assert all((b.starts_at.date() - a.starts_at.date()).days == 7 for a, b in itertools.pairwise(slots))


def test_wall_time_stays_18_00_across_both_daylight_saving_changes():
    slots = weekly()
    local = [s.starts_at.astimezone(schedule.ZoneInfo(CPH)) for s in slots]
    assert {(t.hour, t.minute) for t in local} == {(18, 0)}
    utc = {s.starts_at.date(): s.starts_at.astimezone(dt.UTC) for s in slots}
    # Winter time (UTC+1) before 27 March, summer time (UTC+2) until 30 October, winter time after.
    assert utc[dt.date(2011, 3, 22)].hour == 17
    assert utc[dt.date(2011, 3, 29)].hour == 16
    assert utc[dt.date(2011, 10, 25)].hour == 16
    assert utc[dt.date(2011, 11, 1)].hour == 17
    # So the UTC gap across each change is a week plus or minus an hour, never exactly 7 x 24 h.
    assert utc[dt.date(2011, 3, 29)] - utc[dt.date(2011, 3, 22)] == dt.timedelta(days=7, hours=-1)
    assert utc[dt.date(2011, 11, 1)] - utc[dt.date(2011, 10, 25)] == dt.timedelta(days=7, hours=1)


def test_a_sunday_group_meets_on_the_change_days_themselves():
    slots = weekly(start=dt.date(2011, 3, 20), weekday=6, at=dt.time(10, 30))
    by_day = {s.starts_at.date(): s.starts_at for s in slots}
    assert by_day[dt.date(2011, 3, 27)].utcoffset() == dt.timedelta(hours=2)
    assert by_day[dt.date(2011, 10, 30)].utcoffset() == dt.timedelta(hours=1)
    assert by_day[dt.date(2011, 10, 30)].astimezone(dt.UTC).time() == dt.time(9, 30)


def test_a_wall_time_the_clocks_skip_is_refused():
    with pytest.raises(UserError, match="02:30 does not exist on 2011-03-27"):
        schedule.local_datetime(dt.date(2011, 3, 27), dt.time(2, 30), CPH)


def test_the_first_session_is_on_the_groups_weekday_on_or_after_the_start():
    slots = weekly(start=dt.date(2011, 3, 2), weekday=0)  # a Wednesday start, Monday group
    assert slots[0].starts_at.date() == dt.date(2011, 3, 7)
    with pytest.raises(UserError, match="weekday must be 0"):
        weekly(weekday=7)


def test_fortnightly_and_monthly_rhythms():
    fortnightly = schedule.session_dates(dt.date(2011, 3, 1), 1, "fortnightly", 9)
    assert len(fortnightly) == 20
    assert fortnightly[1] == dt.date(2011, 3, 15)
    monthly = schedule.session_dates(dt.date(2011, 3, 1), 1, "monthly", 3)
    assert monthly == [dt.date(2011, 3, 1), dt.date(2011, 4, 5), dt.date(2011, 5, 3)]


def test_danish_bank_holidays_are_marked_or_skipped():
    holidays = schedule.bank_holidays("DK", [2011])
    # Easter Monday 2011 is 25 April; Great Prayer Day (4th Friday after Easter) is 20 May.
    assert holidays[dt.date(2011, 4, 25)] == "Easter Monday"
    assert dt.date(2011, 5, 20) in holidays
    marked = weekly(start=dt.date(2011, 3, 1), weekday=0, holidays=holidays)
    flagged = {s.starts_at.date(): s.bank_holiday for s in marked if s.bank_holiday}
    # Mondays that are holidays: Easter Monday 25 April, Whit Monday 13 June.
    assert flagged == {dt.date(2011, 4, 25): "Easter Monday", dt.date(2011, 6, 13): "Pentecost Monday"}
    skipped = weekly(start=dt.date(2011, 3, 1), weekday=0, holidays=holidays, on_holiday="skip")
    assert len(skipped) == len(marked) - 2
    assert dt.date(2011, 4, 25) not in {s.starts_at.date() for s in skipped}
    assert [s.number for s in skipped] == list(range(1, len(skipped) + 1))


def test_great_prayer_day_is_no_holiday_from_2024():
    assert dt.date(2023, 5, 5) in schedule.bank_holidays("DK", [2023])
    assert not any(d.month == 4 and d.day == 26 for d in schedule.bank_holidays("DK", [2024]))


def test_an_unknown_holiday_calendar_is_refused():
    with pytest.raises(UserError, match="no bank-holiday calendar for country 'XX'"):
        schedule.bank_holidays("XX", [2011])


def test_cancelling_needs_a_reason_and_the_session_is_no_longer_offered():
    slots = weekly()
    with pytest.raises(UserError, match="needs a reason"):
        schedule.cancel(slots, 3, " ")
    cancelled = schedule.cancel(slots, 3, "both facilitators ill")
    assert cancelled[2].status == "cancelled"
    assert cancelled[2].reason == "both facilitators ill"
    with pytest.raises(UserError, match="session 3 is cancelled"):
        schedule.cancel(cancelled, 3, "again")
    held = [s if s.status == "cancelled" else schedule.replace(s, status="held") for s in cancelled[:5]]
    assert schedule.offered_count(held) == 4


def test_rescheduling_keeps_the_original_and_refuses_a_day_before_the_start():
    slots = weekly()
    to = schedule.local_datetime(dt.date(2011, 4, 28), EIGHTEEN, CPH)  # Thursday after session 9
    moved = schedule.reschedule(slots, 9, to, "Easter week", group_start=dt.date(2011, 3, 1), zone=CPH)
    assert moved[8].status == "rescheduled"
    assert moved[8].moved_from == slots[8].starts_at
    assert moved[8].starts_at == to
    # Moved again: the original time is kept as "from".
    again = schedule.reschedule(
        moved, 9, to + dt.timedelta(days=1), "room", group_start=dt.date(2011, 3, 1), zone=CPH
    )
    assert again[8].moved_from == slots[8].starts_at
    early = schedule.local_datetime(dt.date(2011, 2, 25), EIGHTEEN, CPH)
    with pytest.raises(UserError, match=r"a session cannot be before the group's start \(2011-03-01\)"):
        schedule.reschedule(slots, 1, early, "x", group_start=dt.date(2011, 3, 1), zone=CPH)
    clash = slots[9].starts_at + dt.timedelta(hours=-2)
    with pytest.raises(UserError, match="session 10 of this group is already on 2011-05-03"):
        schedule.reschedule(slots, 9, clash, "x", group_start=dt.date(2011, 3, 1), zone=CPH)


def test_a_held_session_cannot_be_moved():
    slots = [schedule.replace(s, status="held") if s.number == 1 else s for s in weekly()]
    with pytest.raises(UserError, match="session 1 is held"):
        schedule.reschedule(
            slots,
            1,
            slots[0].starts_at + dt.timedelta(days=1),
            "x",
            group_start=dt.date(2011, 3, 1),
            zone=CPH,
        )


def test_a_group_that_stops_early_keeps_its_held_sessions_and_cancels_the_rest():
    slots = weekly()
    slots = [schedule.replace(s, status="held") if s.number <= 12 else s for s in slots]
    slots = schedule.cancel(slots, 14, "ill")
    stopped = schedule.stop(slots, dt.date(2011, 5, 24), "too few members left", CPH)
    assert schedule.offered_count(stopped) == 12
    after = [s for s in stopped if s.starts_at.date() >= dt.date(2011, 5, 24)]
    assert len(after) == 40 - 12
    assert {s.status for s in after} == {"cancelled"}
    assert after[0].reason == "group stopped: too few members left"
    assert after[1].reason == "ill"  # session 14 was cancelled before the stop and keeps its reason
    with pytest.raises(UserError, match="stopping a group needs a reason"):
        schedule.stop(slots, dt.date(2011, 5, 24), "", CPH)
