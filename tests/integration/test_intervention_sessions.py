"""Sessions and attendance through the services: holding, cancelling, moving, the one-call register, the
three-in-a-row flag, and the dose table built from it."""

import datetime as dt

import pandas as pd
import pytest

import intervention_support as imr
from trialdesk import clock, datasets
from trialdesk.apps.intervention import services
from trialdesk.apps.intervention.dose import dose_frame
from trialdesk.apps.intervention.models import Attendance, Session
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]

P, N, A = "present", "absent_with_notice", "absent_without_notice"


@pytest.fixture
def setup():
    ctx = imr.trial()
    people, _ = imr.randomised(ctx, 7)
    group = imr.running_group(ctx, people[:6])
    return ctx, group, people


def _session(group, number):
    return group.sessions.get(number=number)


def _hold(ctx, group, number, modules=(1,)):
    session = _session(group, number)
    with clock.frozen(imr.at_local(session.starts_at.date())):
        return services.hold_session(
            session,
            minutes=90,
            modules=list(modules),
            facilitators_present=list(group.facilitators.all()),
            context=ctx,
        )


def _mark(ctx, group, number, marks, reason=""):
    session = _session(group, number)
    with clock.frozen(imr.at_local(session.starts_at.date())):
        return services.record_attendance(session, marks, ctx, reason)


def _all(people, status=P, **overrides):
    return {p.trial_id: overrides.get(p.trial_id, status) for p in people}


def _state():
    return (
        Attendance.objects.count(),
        list(Session.objects.values_list("status", "starts_at").order_by("pk")),
        LedgerEntry.objects.count(),
    )


def _refused(match, call, *args, at=None, **kwargs):
    before = _state()
    with clock.frozen(at or imr.at_local(dt.date(2011, 12, 1))), pytest.raises(UserError, match=match):
        call(*args, **kwargs)
    assert _state() == before


def test_attendance_for_a_whole_session_in_one_call(setup):
    ctx, group, people = setup
    _hold(ctx, group, 1, modules=(1,))
    marks = _all(people[:6], **{people[1].trial_id: N, people[2].trial_id: A})
    _mark(ctx, group, 1, marks)
    stored = {a.participant.trial_id: a.status for a in _session(group, 1).attendance.all()}
    assert stored == marks
    assert LedgerEntry.objects.filter(entity="imr-attendance", action="create").count() == 6
    # Unchanged marks write nothing; a change needs a reason.
    before = LedgerEntry.objects.count()
    _mark(ctx, group, 1, marks)
    assert LedgerEntry.objects.count() == before
    changed = {**marks, people[2].trial_id: N}
    _refused(
        "a reason is required to change imr-attendance",
        services.record_attendance,
        _session(group, 1),
        changed,
        ctx,
        "",
    )
    _mark(ctx, group, 1, changed, reason="phoned in before the session")
    assert _session(group, 1).attendance.get(participant=people[2]).status == N


def test_attendance_for_a_cancelled_session_is_refused(setup):
    ctx, group, people = setup
    with clock.frozen(imr.RANDOMISED_AT):
        services.cancel_session(_session(group, 2), "facilitator ill", ctx)
    _refused(
        r"attendance rule: session 2 is cancelled \(facilitator ill\)",
        services.record_attendance,
        _session(group, 2),
        _all(people[:6]),
        ctx,
    )
    _refused(
        "session 2 is cancelled",
        services.hold_session,
        _session(group, 2),
        minutes=90,
        modules=[1],
        facilitators_present=list(group.facilitators.all()),
        context=ctx,
    )


def test_every_member_and_only_members_are_marked(setup):
    ctx, group, people = setup
    _hold(ctx, group, 1)
    _refused(
        f"every member must be marked; missing {people[5].trial_id}",
        services.record_attendance,
        _session(group, 1),
        _all(people[:5]),
        ctx,
    )
    _refused(
        f"{people[6].trial_id} not a member of group Tuesday group",
        services.record_attendance,
        _session(group, 1),
        _all(people[:7]),
        ctx,
    )
    _refused(
        "'late' not one of present, absent_with_notice, absent_without_notice",
        services.record_attendance,
        _session(group, 1),
        _all(people[:6], **{people[0].trial_id: "late"}),
        ctx,
    )
    _refused(
        "session 2 is planned; record it as held before its attendance",
        services.record_attendance,
        _session(group, 2),
        _all(people[:6]),
        ctx,
    )


def test_a_session_cannot_be_held_in_the_future_or_with_unknown_modules(setup):
    ctx, group, _ = setup
    people = list(group.facilitators.all())
    _refused(
        "session 5 is on 2011-04-05, in the future",
        services.hold_session,
        _session(group, 5),
        minutes=90,
        modules=[1],
        facilitators_present=people,
        context=ctx,
        at=imr.at_local(dt.date(2011, 4, 4)),
    )
    _refused(
        r"module rule: 12 not in the curriculum \(modules 1-11\)",
        services.hold_session,
        _session(group, 1),
        minutes=90,
        modules=[1, 12],
        facilitators_present=people,
        context=ctx,
    )


def test_a_session_cannot_be_moved_before_the_groups_start(setup):
    ctx, group, _ = setup
    _refused(
        r"a session cannot be before the group's start \(2011-03-08\)",
        services.reschedule_session,
        _session(group, 1),
        dt.date(2011, 3, 7),
        dt.time(18),
        "room booked",
        ctx,
    )


def test_a_rescheduled_session_keeps_its_wall_time_across_the_clock_change(setup):
    ctx, group, people = setup
    session = _session(group, 3)  # Tuesday 22 March 2011, winter time
    with clock.frozen(imr.RANDOMISED_AT):
        services.reschedule_session(session, dt.date(2011, 3, 28), dt.time(18), "room booked", ctx)
    session.refresh_from_db()
    assert session.status == "rescheduled" and session.reason == "room booked"
    assert session.moved_from.astimezone(dt.UTC) == dt.datetime(2011, 3, 22, 17, tzinfo=dt.UTC)
    assert session.starts_at.astimezone(dt.UTC) == dt.datetime(2011, 3, 28, 16, tzinfo=dt.UTC)  # summer time
    _hold(ctx, group, 3)
    _mark(ctx, group, 3, _all(people[:6]))
    assert _session(group, 3).status == "held"


def test_three_missed_sessions_in_a_row_raise_a_flag(setup):
    ctx, group, people = setup
    missing, notice = people[0].trial_id, people[1].trial_id
    pattern = {1: (P, P), 2: (A, N), 3: (N, P), 4: (A, N)}
    for number, (first, second) in pattern.items():
        _hold(ctx, group, number)
        _mark(ctx, group, number, _all(people[:6], **{missing: first, notice: second}))
    with clock.frozen(imr.at_local(dt.date(2011, 3, 29))):
        assert [(f.trial_id, f.missed_in_a_row) for f in services.flagged(group)] == [(missing, 3)]
        assert services.flagged(group)[0].last_present == dt.date(2011, 3, 8)
    _hold(ctx, group, 5)
    _mark(ctx, group, 5, _all(people[:6]))
    with clock.frozen(imr.at_local(dt.date(2011, 4, 5))):
        assert services.flagged(group) == []


def test_the_dose_table_counts_offered_attended_modules_weeks_and_completers(setup):
    ctx, group, people = setup
    late = people[6]
    # Sessions 1-4 held; session 5 cancelled; 6 held. People[6] joins on 22 March (before session 3).
    with clock.frozen(imr.RANDOMISED_AT):
        services.place(late, group, dt.date(2011, 3, 22), ctx)
        services.cancel_session(_session(group, 5), "bank holiday week", ctx)
    modules = {1: (1,), 2: (1, 2), 3: (2,), 4: (3,), 6: (3, 4)}
    for number in (1, 2, 3, 4, 6):
        _hold(ctx, group, number, modules[number])
        members = people[:6] + ([late] if number >= 3 else [])
        absent = {people[0].trial_id: A} if number != 1 else {}
        if number in (2, 3):
            absent[people[1].trial_id] = N
        _mark(ctx, group, number, _all(members, **absent))
    # people[5] leaves on 5 April (before session 5's date; session 6 is 12 April).
    with clock.frozen(imr.at_local(dt.date(2011, 4, 12))):
        services.remove(people[5], dt.date(2011, 4, 5), "moved away", ctx)
        frame = dose_frame().set_index("trial_id")
    assert list(dose_frame().columns) == datasets.TABLES["dose"].column_names
    rows = frame.loc[[p.trial_id for p in people]]
    # offered: 5 held sessions for the stayers, 4 for the leaver (1-4), 3 for the late joiner (3, 4, 6).
    assert rows["sessions_offered"].tolist() == [5, 5, 5, 5, 5, 4, 3]
    assert rows["sessions_attended"].tolist() == [1, 3, 5, 5, 5, 4, 3]
    assert rows["attendance"].round(3).tolist() == [0.2, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0]
    # modules of attended sessions: people[0] attended only session 1 -> {1}; people[1] 1, 4, 6 -> {1,3,4}.
    assert rows["modules_covered"].tolist() == [1, 3, 4, 4, 4, 3, 3]
    # weeks: 8 March to 12 April is 5 weeks; the leaver 8 March to 5 April 4; the late joiner 22 March 3.
    assert rows["weeks_in_group"].tolist() == [5.0, 5.0, 5.0, 5.0, 5.0, 4.0, 3.0]
    # completer (threshold 0.5): the leaver attended 4 of the 5 they would have had by staying -> yes;
    # people[0] 1 of 5 -> no.
    assert rows["completer"].tolist() == [False, True, True, True, True, True, True]
    assert frame.loc[people[0].trial_id, "group_id"] == str(group.pk)


def test_a_participant_never_placed_has_a_row_with_nothing_offered(setup):
    _, _, people = setup
    frame = dose_frame().set_index("trial_id")
    row = frame.loc[people[6].trial_id]
    assert (row["sessions_offered"], row["sessions_attended"], bool(row["completer"])) == (0, 0, False)
    assert pd.isna(row["group_id"])
    assert pd.isna(row["attendance"])
    assert pd.isna(row["weeks_in_group"])
