"""Login throttling (django-axes): five wrong passwords lock a username+address pair out for 15 minutes;
the page says when to try again; every lockout is in the audit ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from enrolment_support import TEST_PASSWORD, install, user
from trialdesk.apps.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna():
    install()
    return user("anna", "assessor", "BAL")


def attempt(client: Client, password: str, username: str = "anna"):
    return client.post("/login/", {"username": username, "password": password})


def test_five_failures_lock_out_and_the_page_says_when_to_retry(anna):
    client = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(4):
        assert attempt(client, "wrong-password").status_code == 200  # the form again, with its error
    before = timezone.now()
    locked = attempt(client, "wrong-password")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed logins" in html and "anna" in html
    retry_at = before + timedelta(minutes=15)
    assert timezone.localtime(retry_at).strftime("%H:%M") in html or \
        timezone.localtime(retry_at + timedelta(minutes=1)).strftime("%H:%M") in html
    assert "in about 15 minutes" in html
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert "wrong-password" not in html


def test_the_right_password_is_refused_while_locked_out_and_the_retry_time_holds(anna):
    client = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(5):
        attempt(client, "wrong-password")
    first_retry = AccessAttempt.objects.get(username="anna").attempt_time
    refused = attempt(client, TEST_PASSWORD)
    assert refused.status_code == 429
    assert client.get("/").status_code == 302  # still not signed in
    # Attempts while locked out do not push the retry time back
    # (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False).
    assert AccessAttempt.objects.get(username="anna").attempt_time == first_retry


def test_lockouts_are_audited_without_the_address_or_password(anna):
    client = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(5):
        attempt(client, "wrong-password")
    attempt(client, TEST_PASSWORD)
    lockouts = LedgerEntry.objects.filter(action="lockout", actor="anna")
    assert lockouts.count() == 2  # reaching the limit, then the refused attempt while locked out
    entry = lockouts.first()
    assert entry.channel == "web" and entry.entity == "session"
    assert "retry_at" in entry.new_value
    assert "10.0.0.5" not in entry.new_value and TEST_PASSWORD not in entry.new_value
    assert LedgerEntry.objects.filter(action="login-failed", actor="anna").count() == 6


def test_lockout_is_per_username_and_address(anna):
    bo = user("bo", "assessor", "BAL")
    attacker = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(5):
        attempt(attacker, "wrong-password")
    # The same person from another computer, and another user from the same computer, still get in.
    assert attempt(Client(REMOTE_ADDR="10.0.0.6"), TEST_PASSWORD).status_code == 302
    assert attempt(attacker, TEST_PASSWORD, username=bo.username).status_code == 302


def test_after_the_cool_off_the_right_password_works_and_resets_the_count(anna):
    client = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(5):
        attempt(client, "wrong-password")
    AccessAttempt.objects.filter(username="anna").update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, TEST_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    assert not AccessAttempt.objects.filter(username="anna").exists()  # AXES_RESET_ON_SUCCESS


def test_the_password_is_not_stored_by_axes(anna):
    attempt(Client(REMOTE_ADDR="10.0.0.5"), "my-secret-guess")
    stored = AccessAttempt.objects.get(username="anna")
    assert "my-secret-guess" not in stored.post_data
