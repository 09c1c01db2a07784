"""Blinding and access from the outside: every IMR page refuses outcome assessors (and other blinded
roles); facilitators reach theirs but no outcome rating."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

import intervention_support as imr
from enrolment_support import user
from trialdesk import clock
from trialdesk.apps.intervention import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def world():
    ctx = imr.trial()
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    session = group.sessions.get(number=1)
    step = None
    with clock.frozen(imr.at_local(dt.date(2011, 3, 8))):
        services.hold_session(
            session, minutes=90, modules=[1], facilitators_present=list(group.facilitators.all()), context=ctx
        )
        goal = services.add_goal(people[0], "a goal", dt.date(2011, 3, 8), ctx)
        step = services.add_step(goal, "a step", ctx)
    membership = group.memberships.first()
    urls = {
        "home": reverse("intervention:home"),
        "groups": reverse("intervention:groups"),
        "group": reverse("intervention:group", args=[group.pk]),
        "group_action": reverse("intervention:group_action", args=[group.pk]),
        "waiting": reverse("intervention:waiting"),
        "leave": reverse("intervention:leave", args=[membership.pk]),
        "session": reverse("intervention:session", args=[session.pk]),
        "attendance": reverse("intervention:attendance", args=[session.pk]),
        "session_hold": reverse("intervention:session_hold", args=[session.pk]),
        "session_cancel": reverse("intervention:session_cancel", args=[session.pk]),
        "session_reschedule": reverse("intervention:session_reschedule", args=[session.pk]),
        "goals": reverse("intervention:goals", args=[people[0].trial_id]),
        "step_done": reverse("intervention:step_done", args=[people[0].trial_id, step.pk]),
        "fidelity": reverse("intervention:fidelity"),
        "rate": reverse("intervention:rate"),
        "dose": reverse("intervention:dose"),
        "dose_csv": reverse("intervention:dose_csv"),
    }
    return ctx, group, people, urls


def test_every_imr_url_is_listed_here():
    from trialdesk.apps.intervention.urls import urlpatterns

    names = {p.name for p in urlpatterns}
    assert names == {
        "home",
        "groups",
        "group",
        "group_action",
        "waiting",
        "leave",
        "session",
        "attendance",
        "session_hold",
        "session_cancel",
        "session_reschedule",
        "goals",
        "step_done",
        "fidelity",
        "rate",
        "dose",
        "dose_csv",
    }


@pytest.mark.parametrize("role", ["assessor", "data_manager", "statistician", "monitor"])
def test_blinded_roles_are_refused_everywhere(world, role):
    _, _, people, urls = world
    client = Client()
    client.force_login(user(f"blind-{role}", role, "BAL" if role == "assessor" else None))
    for name, url in urls.items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (403, 405), (role, name, method.__name__, response.status_code)
            body = response.content.decode()
            # Whole words only: a random CSRF token may contain the letters "IMR".
            assert not re.search(r"\bIMR\b|Tuesday group|Illness Management", body), (role, name)
            assert people[0].trial_id not in body, (role, name)


def test_logged_out_visitors_are_sent_to_log_in(world):
    _, _, _, urls = world
    for name, url in urls.items():
        response = Client().get(url)
        assert response.status_code in (302, 405), name
        if response.status_code == 302:
            assert response["Location"].startswith("/login/"), name


def test_a_facilitator_reaches_the_group_pages_but_not_outcome_ratings(world):
    _, group, people, urls = world
    from trialdesk.apps.assessments.access import can_view

    client = Client()
    facilitator = group.facilitators.first()
    client.force_login(facilitator)
    for name in ("home", "groups", "group", "session", "attendance", "goals", "dose", "dose_csv"):
        assert client.get(urls[name]).status_code == 200, name
    assert client.get(urls["fidelity"]).status_code == 200  # facilitators also manage groups
    assert client.get(urls["rate"]).status_code == 403  # but only fidelity raters rate
    assert not can_view(facilitator, "gaf_f", people[0])
    assert not can_view(facilitator, "panss", people[0])


def test_another_sites_facilitator_and_a_fidelity_rater_see_no_members(world):
    _, _, people, urls = world
    frb = Client()
    frb.force_login(imr.facilitators("FRB", names=("olga",))[0])
    for name in ("group", "session", "attendance", "goals"):
        assert frb.get(urls[name]).status_code == 403, name
    assert people[0].trial_id not in frb.get(urls["dose"]).content.decode()
    rater = Client()
    rater.force_login(user("rita", "fidelity_rater"))
    assert rater.get(urls["rate"]).status_code == 200
    assert rater.get(urls["fidelity"]).status_code == 200
    for name in ("home", "groups", "group", "waiting", "session", "attendance", "goals", "dose", "dose_csv"):
        assert rater.get(urls[name]).status_code == 403, name
    page = rater.get(urls["fidelity"]).content.decode() + rater.get(urls["rate"]).content.decode()
    assert people[0].trial_id not in page
