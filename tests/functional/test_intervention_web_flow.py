"""The IMR pages end to end through Django's test client: form a group, place from the waiting list, hold a
session, record attendance in one form, follow up goals, rate fidelity, read the dose table and its CSV.
Refusals come back as the service's message with nothing stored."""

import datetime as dt
import io

import pandas as pd
import pytest
from django.test import Client
from django.urls import reverse

import intervention_support as imr
from enrolment_support import user
from trialdesk import clock
from trialdesk.apps.intervention import services
from trialdesk.apps.intervention.models import Attendance, FidelityRating, Group, GroupMembership, Session
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.trial.models import Site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
SESSION_DAY = imr.at_local(dt.date(2011, 3, 8))


@pytest.fixture
def ctx():
    return imr.trial()


def _client(who):
    client = Client()
    client.force_login(who)
    return client


def test_a_coordinator_forms_a_group_and_places_participants_from_the_waiting_list(ctx):
    people, tau = imr.randomised(ctx, 3, n_tau=1)
    facilitators = imr.facilitators()
    coordinator = _client(user("cora", "coordinator", "BAL"))
    page = coordinator.get(reverse("intervention:waiting")).content.decode()
    assert all(p.trial_id in page for p in people) and tau[0].trial_id not in page
    with clock.frozen(imr.RANDOMISED_AT):
        response = coordinator.post(
            reverse("intervention:groups"),
            {
                "site": Site.objects.get(code="BAL").pk,
                "name": "Tirsdagsgruppen",
                "facilitators": [f.pk for f in facilitators],
                "planned_start": "2011-03-08",
                "weekday": 1,
                "start_time": "18:00",
            },
        )
    group = Group.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "intervention:group", args=[group.pk]
    )
    with clock.frozen(imr.RANDOMISED_AT):
        response = coordinator.post(
            reverse("intervention:waiting"),
            {"trial_id": people[0].trial_id, "group": group.pk, "on": "2011-03-08"},
        )
    assert response.status_code == 302
    assert GroupMembership.objects.get().participant == people[0]
    page = coordinator.get(reverse("intervention:waiting")).content.decode()
    assert f'value="{people[0].trial_id}"' not in page
    assert f'value="{people[1].trial_id}"' in page
    # Schedule through the group page.
    with clock.frozen(imr.RANDOMISED_AT):
        coordinator.post(reverse("intervention:group_action", args=[group.pk]), {"action": "schedule"})
    assert group.sessions.count() == 40
    detail = coordinator.get(reverse("intervention:group", args=[group.pk])).content.decode()
    assert "Easter Monday" not in detail  # a Tuesday group: no Monday holidays
    assert "Tue 2011-03-08 18:00" in detail and "Tue 2011-11-29 18:00" in detail


def test_a_group_with_one_facilitator_is_refused_with_the_rule(ctx):
    facilitators = imr.facilitators()
    coordinator = _client(user("cora", "coordinator", "BAL"))
    before = LedgerEntry.objects.count()
    response = coordinator.post(
        reverse("intervention:groups"),
        {
            "site": Site.objects.get(code="BAL").pk,
            "name": "G",
            "facilitators": [facilitators[0].pk],
            "planned_start": "2011-03-08",
            "weekday": 1,
            "start_time": "18:00",
        },
    )
    assert response.status_code == 400
    assert "facilitator rule: a group needs 2 facilitators (protocol), got 1" in response.content.decode()
    assert Group.objects.count() == 0 and LedgerEntry.objects.count() == before


def test_placing_an_eleventh_member_through_the_page_is_refused(ctx):
    people, _ = imr.randomised(ctx, 11)
    group = imr.running_group(ctx, people[:10])
    coordinator = _client(user("cora", "coordinator", "BAL"))
    before = (GroupMembership.objects.count(), LedgerEntry.objects.count())
    with clock.frozen(imr.RANDOMISED_AT):
        response = coordinator.post(
            reverse("intervention:waiting"),
            {"trial_id": people[10].trial_id, "group": group.pk, "on": "2011-03-08"},
        )
    assert response.status_code == 400
    assert "capacity rule: group Tuesday group is full (10 of 10 places" in response.content.decode()
    assert (GroupMembership.objects.count(), LedgerEntry.objects.count()) == before


def test_a_facilitator_holds_a_session_and_records_attendance_in_one_form(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=1)
    facilitator = _client(group.facilitators.first())
    with clock.frozen(SESSION_DAY):
        response = facilitator.post(
            reverse("intervention:session_hold", args=[session.pk]),
            {"minutes": 85, "modules": [1], "facilitators_present": [f.pk for f in group.facilitators.all()]},
        )
        assert response.status_code == 302
        form = facilitator.get(reverse("intervention:attendance", args=[session.pk])).content.decode()
        assert form.count('type="radio"') == 18 and 'data-key="p"' in form
        marks = {p.trial_id: "present" for p in people}
        marks[people[2].trial_id] = "absent_without_notice"
        response = facilitator.post(reverse("intervention:attendance", args=[session.pk]), marks)
    assert response.status_code == 302
    assert Attendance.objects.filter(session=session, status="present").count() == 5
    page = _client(group.facilitators.first()).get(reverse("intervention:dose")).content.decode()
    assert f'data-trial-id="{people[2].trial_id}"' in page


def test_an_incomplete_register_is_refused_and_keeps_what_was_typed(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=1)
    with clock.frozen(SESSION_DAY):
        services.hold_session(
            session, minutes=90, modules=[1], facilitators_present=list(group.facilitators.all()), context=ctx
        )
        client = _client(group.facilitators.first())  # logging in is audited: count after it
        before = (Attendance.objects.count(), LedgerEntry.objects.count())
        marks = {p.trial_id: "present" for p in people[:5]}
        response = client.post(reverse("intervention:attendance", args=[session.pk]), marks)
    assert response.status_code == 400
    body = response.content.decode()
    assert f"attendance rule: every member must be marked; missing {people[5].trial_id}" in body
    assert body.count("checked") == 5
    assert (Attendance.objects.count(), LedgerEntry.objects.count()) == before


def test_attendance_for_a_cancelled_session_is_refused_through_the_page(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=2)
    facilitator = _client(group.facilitators.first())
    with clock.frozen(SESSION_DAY):
        response = facilitator.post(
            reverse("intervention:session_cancel", args=[session.pk]), {"reason": "snow storm"}
        )
        assert response.status_code == 302
        before = (Attendance.objects.count(), LedgerEntry.objects.count())
        response = facilitator.post(
            reverse("intervention:attendance", args=[session.pk]), {p.trial_id: "present" for p in people}
        )
    assert response.status_code == 400
    assert "attendance rule: session 2 is cancelled (snow storm)" in response.content.decode()
    assert (Attendance.objects.count(), LedgerEntry.objects.count()) == before


def test_a_session_moved_before_the_groups_start_is_refused_through_the_page(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=1)
    before = list(Session.objects.values_list("starts_at", "status").order_by("pk"))
    with clock.frozen(imr.RANDOMISED_AT):
        response = _client(group.facilitators.first()).post(
            reverse("intervention:session_reschedule", args=[session.pk]),
            {"day": "2011-03-01", "at": "18:00", "reason": "earlier"},
        )
    assert response.status_code == 400
    assert "a session cannot be before the group&#x27;s start (2011-03-08)" in response.content.decode()
    assert list(Session.objects.values_list("starts_at", "status").order_by("pk")) == before


def test_goals_page_adds_a_goal_a_step_and_a_follow_up(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=1)
    with clock.frozen(SESSION_DAY):
        services.hold_session(
            session, minutes=90, modules=[1], facilitators_present=list(group.facilitators.all()), context=ctx
        )
        client = _client(group.facilitators.first())
        url = reverse("intervention:goals", args=[people[0].trial_id])
        assert (
            client.post(url, {"form": "goal", "text": "Walk daily", "set_on": "2011-03-08"}).status_code
            == 302
        )
        goal = people[0].recovery_goals.get()
        assert client.post(url, {"form": "step", "goal": goal.pk, "text": "Buy shoes"}).status_code == 302
        response = client.post(
            url,
            {
                "form": "follow_up",
                "goal": goal.pk,
                "session": session.pk,
                "progress": "some",
                "home_assignment_done": "true",
                "note": "",
            },
        )
        assert response.status_code == 302
        page = client.get(url).content.decode()
    assert "Walk daily" in page and "Buy shoes" in page and "some progress" in page


def test_a_fidelity_item_of_6_is_refused_through_the_form(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    rater = _client(user("rita", "fidelity_rater"))
    data = {
        "group": group.pk,
        "rated_on": "2011-06-01",
        "source": "observation",
        **{f"item_{i}": 4 for i in range(1, 14)},
    }
    before = (FidelityRating.objects.count(), LedgerEntry.objects.count())
    with clock.frozen(imr.at_local(dt.date(2011, 6, 2))):
        response = rater.post(reverse("intervention:rate"), {**data, "item_7": 6})
    assert response.status_code == 400
    assert (
        "imr_fidelity item 7: 6 is not allowed; allowed values are 1, 2, 3, 4, 5" in response.content.decode()
    )
    assert (FidelityRating.objects.count(), LedgerEntry.objects.count()) == before
    with clock.frozen(imr.at_local(dt.date(2011, 6, 2))):
        response = rater.post(reverse("intervention:rate"), data)
    assert response.status_code == 302
    assert FidelityRating.objects.get().category == "high"
    page = rater.get(reverse("intervention:fidelity")).content.decode()
    assert "4.00" in page and "needs at least 2 double-rated occasions" in page


def test_the_dose_csv_has_the_analysis_columns_and_one_row_per_imr_participant(ctx):
    people, tau = imr.randomised(ctx, 7, n_tau=2)
    group = imr.running_group(ctx, people[:6])
    session = group.sessions.get(number=1)
    with clock.frozen(SESSION_DAY):
        services.hold_session(
            session,
            minutes=90,
            modules=[1, 2],
            facilitators_present=list(group.facilitators.all()),
            context=ctx,
        )
        services.record_attendance(session, {p.trial_id: "present" for p in people[:6]}, ctx)
        response = _client(group.facilitators.first()).get(reverse("intervention:dose_csv"))
    assert response["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(response.content.decode()))
    from trialdesk.datasets import TABLES

    assert list(frame.columns) == TABLES["dose"].column_names
    assert sorted(frame["trial_id"]) == sorted(p.trial_id for p in people)
    row = frame.set_index("trial_id").loc[people[0].trial_id]
    assert (row["sessions_offered"], row["sessions_attended"], row["modules_covered"]) == (1, 1, 2)
    waiting = frame.set_index("trial_id").loc[people[6].trial_id]
    assert (waiting["sessions_offered"], pd.isna(waiting["group_id"]), waiting["completer"]) == (
        0,
        True,
        False,
    )
    assert not set(frame["trial_id"]) & {p.trial_id for p in tau}


def test_the_facilitator_home_shows_next_session_trend_flags_and_modules(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    for number in (1, 2, 3):
        session = group.sessions.get(number=number)
        with clock.frozen(imr.at_local(session.starts_at.date())):
            services.hold_session(
                session,
                minutes=90,
                modules=[number],
                context=ctx,
                facilitators_present=list(group.facilitators.all()),
            )
            marks = {p.trial_id: "present" for p in people}
            marks[people[4].trial_id] = "absent_with_notice"
            services.record_attendance(session, marks, ctx)
    with clock.frozen(imr.at_local(dt.date(2011, 3, 23))):
        page = _client(group.facilitators.first()).get(reverse("intervention:home")).content.decode()
    assert "Tuesday group" in page
    assert "Tue 29 Mar 2011 18:00" in page  # the next session, in local time after the clock change
    assert "3 of 40 sessions held" in page
    assert f"{people[4].trial_id}</a>: 3 in a row" in page
    assert "3 of 11 modules covered" in page
    assert "83 %" in page  # 5 of 6 present
    with clock.frozen(imr.at_local(dt.date(2011, 4, 6))):  # sessions 4 and 5 (29 March, 5 April) not recorded
        page = _client(group.facilitators.first()).get(reverse("intervention:home")).content.decode()
    assert "Not yet recorded as held or cancelled:" in page
    assert "(2011-03-29)" in page and "(2011-04-05)" in page and "(2011-04-12)" not in page


def test_moving_a_member_and_stopping_a_group_through_the_group_page(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    other = imr.group(
        ctx, name="Thursday group", people=imr.facilitators("BAL", names=("t1", "t2")), weekday=3
    )
    coordinator = _client(user("cora", "coordinator", "BAL"))
    membership = group.memberships.get(participant=people[0])
    with clock.frozen(imr.at_local(dt.date(2011, 4, 1))):
        response = coordinator.post(
            reverse("intervention:leave", args=[membership.pk]),
            {"on": "2011-04-01", "to": other.pk, "reason": ""},
        )
        assert GroupMembership.objects.get(pk=membership.pk).left_on is None  # a move needs a reason
        coordinator.post(
            reverse("intervention:leave", args=[membership.pk]),
            {"on": "2011-04-01", "to": other.pk, "reason": "works on Tuesdays"},
        )
        response = coordinator.post(
            reverse("intervention:group_action", args=[group.pk]),
            {"action": "stop", "on": "2011-04-02", "reason": ""},
        )
        page = coordinator.get(response["Location"]).content.decode()
        assert "stopping group Tuesday group needs a reason" in page
        coordinator.post(
            reverse("intervention:group_action", args=[group.pk]),
            {"action": "stop", "on": "2011-04-02", "reason": "premises closed"},
        )
    assert GroupMembership.objects.get(participant=people[0], left_on__isnull=True).group == other
    group.refresh_from_db()
    assert (group.status, group.status_reason) == ("stopped", "premises closed")
    page = coordinator.get(reverse("intervention:group", args=[group.pk])).content.decode()
    assert "works on Tuesdays" in page and "group stopped: premises closed" in page


def test_the_fidelity_page_shows_icc_and_kappa_once_two_occasions_are_double_rated(ctx):
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    rita, rolf = user("rita", "fidelity_rater"), user("rolf", "fidelity_rater")
    with clock.frozen(imr.at_local(dt.date(2011, 9, 1))):
        for a, b, on in [
            (3, 3, dt.date(2011, 5, 1)),
            (4, 5, dt.date(2011, 6, 1)),
            (5, 5, dt.date(2011, 7, 1)),
        ]:
            first = services.rate(
                group,
                rater=rita,
                rated_on=on,
                source="recording",
                items={str(i): a for i in range(1, 14)},
                context=ctx,
            )
            services.rate(
                group,
                rater=rolf,
                rated_on=on,
                source="recording",
                items={str(i): b for i in range(1, 14)},
                context=ctx,
                double_of=first,
            )
    page = _client(rita).get(reverse("intervention:fidelity")).content.decode()
    assert "3 double-rated occasions" in page
    assert "ICC(2,1), total score" in page
    assert "Weighted kappa (linear)" in page
    assert "2011Q2" in page and "2011Q3" in page
