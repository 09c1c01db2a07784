"""Sessions end after 30 minutes without a request; the expiry moves forward at most once a minute, so a
page view does not write the session row every time (trialdesk.web.sessions)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from enrolment_support import install, user
from trialdesk.web import sessions

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in():
    install()
    client = Client()
    client.force_login(user("dana", "data_manager"))
    return client


def _row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def _refreshed_ago(client, seconds: float) -> None:
    store = client.session
    store[sessions.REFRESHED] = time.time() - seconds
    store.save()


def test_a_request_after_a_minute_pushes_the_expiry_to_thirty_minutes_from_now(signed_in):
    _refreshed_ago(signed_in, sessions.REFRESH_SECONDS + 1)
    Session.objects.filter(pk=signed_in.session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )
    assert signed_in.get("/").status_code == 200
    left = _row(signed_in).expire_date - timezone.now()
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


def test_requests_within_the_minute_leave_the_session_row_alone(signed_in):
    signed_in.get("/")  # sets the refresh time
    before = _row(signed_in)
    for _ in range(3):
        assert signed_in.get("/participants/").status_code == 200
    after = _row(signed_in)
    assert (after.expire_date, after.session_data) == (before.expire_date, before.session_data)


def test_a_session_idle_for_thirty_minutes_is_signed_out(signed_in):
    Session.objects.filter(pk=signed_in.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    answer = signed_in.get("/participants/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_a_client_without_a_session_gets_no_session_row():
    install()
    Client().get("/health/")
    assert Session.objects.count() == 0
