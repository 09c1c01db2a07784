"""Groups and placement through the services: the rules (capacity, site, arm, one group at a time, moves
with reasons and history) and that a refused request changes nothing."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

import intervention_support as imr
from trialdesk import clock
from trialdesk.apps.intervention import services
from trialdesk.apps.intervention.models import Group, GroupMembership, Session
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return imr.trial()


def _state():
    return (
        Group.objects.count(),
        GroupMembership.objects.count(),
        Session.objects.count(),
        LedgerEntry.objects.count(),
    )


def _refused(match, call, *args, **kwargs):
    before = _state()
    with clock.frozen(imr.RANDOMISED_AT), pytest.raises(UserError, match=match):
        call(*args, **kwargs)
    assert _state() == before


def test_a_group_takes_its_capacity_from_the_protocol_and_records_the_creation(ctx):
    made = imr.group(ctx)
    assert (made.capacity, made.status, made.weekday_name) == (10, "forming", "Tuesday")
    assert made.facilitators.count() == 2
    entry = LedgerEntry.objects.filter(entity="imr-group").get()
    assert entry.site == "BAL"
    assert "frida-bal" in entry.new_value
    assert verify_ledger().ok


def test_a_group_needs_the_protocols_number_of_facilitators_at_its_site(ctx):
    one = imr.facilitators("BAL", names=("solo",))
    _refused(
        r"facilitator rule: a group needs 2 facilitators \(protocol\), got 1", imr.group, ctx, people=one
    )
    elsewhere = imr.facilitators("FRB", names=("x", "y"))
    _refused("facilitator rule: x-frb may not run sessions at site BAL", imr.group, ctx, people=elsewhere)
    coordinator = imr.user("coord", "coordinator", "BAL")
    _refused("coord may not run sessions", imr.group, ctx, people=[coordinator, one[0]])


def test_placement_fills_a_group_to_capacity_and_refuses_an_eleventh(ctx):
    people, _ = imr.randomised(ctx, 11)
    made = imr.group(ctx)
    with clock.frozen(imr.RANDOMISED_AT):
        for participant in people[:10]:
            services.place(participant, made, imr.GROUP_START, ctx)
    assert made.memberships.filter(left_on__isnull=True).count() == 10
    assert [p.trial_id for p in services.waiting(made.site)] == [people[10].trial_id]
    _refused(
        r"capacity rule: group Tuesday group is full \(10 of 10 places",
        services.place,
        people[10],
        made,
        imr.GROUP_START,
        ctx,
    )


def test_a_tau_participant_cannot_be_placed(ctx):
    _, tau = imr.randomised(ctx, 0, n_tau=1)
    made = imr.group(ctx)
    _refused(
        f"arm rule: {tau[0].trial_id} is not allocated to IMR",
        services.place,
        tau[0],
        made,
        imr.GROUP_START,
        ctx,
    )
    assert tau[0] not in services.waiting()


def test_an_unrandomised_participant_cannot_be_placed(ctx):
    from enrolment_support import enrol

    person = enrol(ctx)
    _refused(
        f"arm rule: {person.trial_id} has not been randomised",
        services.place,
        person,
        imr.group(ctx),
        imr.GROUP_START,
        ctx,
    )


def test_placement_checks_the_site(ctx):
    frb, _ = imr.randomised(ctx, 1, "FRB")
    _refused(
        f"site rule: {frb[0].trial_id} belongs to site FRB, group Tuesday group to site BAL",
        services.place,
        frb[0],
        imr.group(ctx),
        imr.GROUP_START,
        ctx,
    )


def test_one_group_at_a_time_and_a_move_needs_a_reason_and_keeps_history(ctx):
    people, _ = imr.randomised(ctx, 1)
    first = imr.group(ctx)
    second = imr.group(
        ctx, name="Thursday group", people=imr.facilitators("BAL", names=("t1", "t2")), weekday=3
    )
    with clock.frozen(imr.RANDOMISED_AT):
        services.place(people[0], first, imr.GROUP_START, ctx)
    _refused(
        r"one-group rule: .* is already in group Tuesday group; move them instead",
        services.place,
        people[0],
        second,
        imr.GROUP_START,
        ctx,
    )
    _refused("needs a reason", services.move, people[0], second, dt.date(2011, 4, 1), " ", ctx)
    with clock.frozen(imr.RANDOMISED_AT):
        services.move(people[0], second, dt.date(2011, 4, 1), "evening clashes with work", ctx)
    history = list(GroupMembership.objects.filter(participant=people[0]).order_by("placed_on"))
    assert [(m.group.name, m.placed_on, m.left_on, m.reason) for m in history] == [
        ("Tuesday group", dt.date(2011, 3, 8), dt.date(2011, 4, 1), "evening clashes with work"),
        ("Thursday group", dt.date(2011, 4, 1), None, ""),
    ]
    assert LedgerEntry.objects.filter(
        entity="imr-membership", action="move", reason="evening clashes with work"
    ).exists()


def test_a_group_starts_with_the_protocols_minimum_and_a_schedule(ctx):
    people, _ = imr.randomised(ctx, 6)
    made = imr.group(ctx)
    with clock.frozen(imr.RANDOMISED_AT):
        for participant in people[:5]:
            services.place(participant, made, imr.GROUP_START, ctx)
    _refused("generate its schedule first", services.start, made, imr.GROUP_START, ctx)
    with clock.frozen(imr.RANDOMISED_AT):
        services.generate_schedule(made, ctx)
    _refused(
        r"start rule: group Tuesday group has 5 members on 2011-03-08; the protocol starts a group with "
        "at least 6",
        services.start,
        made,
        imr.GROUP_START,
        ctx,
    )
    with clock.frozen(imr.RANDOMISED_AT):
        services.place(people[5], made, imr.GROUP_START, ctx)
        services.start(made, imr.GROUP_START, ctx)
    made.refresh_from_db()
    assert (made.status, made.started_on) == ("running", imr.GROUP_START)


def test_the_schedule_is_weekly_for_nine_months_with_danish_bank_holidays_marked(ctx):
    made = imr.group(ctx, weekday=0, planned_start=dt.date(2011, 3, 7))  # Mondays
    with clock.frozen(imr.RANDOMISED_AT):
        sessions = services.generate_schedule(made, ctx)
    assert len(sessions) == 40
    assert sessions[0].number == 1
    stored = list(made.sessions.order_by("number"))
    assert {s.number: s.bank_holiday for s in stored if s.bank_holiday} == {
        8: "Easter Monday",
        15: "Pentecost Monday",
    }  # 25 April and 13 June 2011
    local = [s.starts_at.astimezone(ZoneInfo("Europe/Copenhagen")) for s in stored]
    assert {(t.hour, t.minute) for t in local} == {(18, 0)}
    _refused("already has its schedule", services.generate_schedule, made, ctx)


def test_a_stopped_group_cancels_what_is_left_and_frees_its_members(ctx):
    people, _ = imr.randomised(ctx, 6)
    made = imr.running_group(ctx, people)
    _refused("stopping group Tuesday group needs a reason", services.stop, made, dt.date(2011, 5, 1), "", ctx)
    with clock.frozen(imr.at_local(dt.date(2011, 5, 1))):
        services.stop(made, dt.date(2011, 5, 1), "facilitators left", ctx)
    made.refresh_from_db()
    assert (made.status, made.status_reason, made.ended_on) == (
        "stopped",
        "facilitators left",
        dt.date(2011, 5, 1),
    )
    statuses = {s.status for s in made.sessions.all() if s.starts_at.date() >= dt.date(2011, 5, 1)}
    assert statuses == {"cancelled"}
    assert made.sessions.filter(reason="group stopped: facilitators left").count() == 40 - 8
    assert not GroupMembership.objects.filter(group=made, left_on__isnull=True).exists()
    _refused(
        "group Tuesday group is stopped: nobody can be placed",
        services.place,
        people[0],
        made,
        dt.date(2011, 5, 2),
        ctx,
    )


def test_the_waiting_list_is_per_site_and_excludes_tau(ctx):
    bal, _tau = imr.randomised(ctx, 2, n_tau=2)
    frb, _ = imr.randomised(ctx, 1, "FRB")
    assert {p.trial_id for p in services.waiting(Site.objects.get(code="BAL"))} == {p.trial_id for p in bal}
    assert {p.trial_id for p in services.waiting()} == {p.trial_id for p in bal + frb}
