"""TOTP two-factor authentication: who must use it, enrolment, verification, and the pages it guards.

Codes are computed here from the device's secret with django-otp's own TOTP (RFC 6238), as the user's
authenticator app would; nothing is patched in the code under test.
"""

from __future__ import annotations

import base64
import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from enrolment_support import TEST_PASSWORD, install, user
from trialdesk.apps.accounts.twofactor import requires_two_factor, reset_two_factor
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_factor_on(settings):
    settings.TRIALDESK_REQUIRE_2FA = True


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    valid = {code(device, k) for k in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(123456, 10**6) if f"{n:06d}" not in valid)


def password_login(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302, "the password step itself must succeed"
    return client


@pytest.fixture
def coordinator():
    install()
    return user("cora", "coordinator", "BAL")


@pytest.fixture
def enrolled(coordinator):
    return TOTPDevice.objects.create(user=coordinator, name="authenticator app", confirmed=True)


def test_who_needs_a_second_factor():
    install()
    assert requires_two_factor(user("cora", "coordinator", "BAL"))
    assert requires_two_factor(user("fred", "facilitator", "BAL"))
    assert requires_two_factor(user("adam", "admin"))
    assert requires_two_factor(user("stella", "statistician", unblinded=True))
    assert requires_two_factor(user("kim", "coordinator", "BAL", personal_data=True))
    assert requires_two_factor(user("dora", "data_manager", personal_data=True))
    # Blinded roles without the key: the password is enough.
    assert not requires_two_factor(user("anna", "assessor", "BAL"))
    assert not requires_two_factor(user("stan", "statistician"))
    assert not requires_two_factor(user("mona", "monitor"))


def test_first_login_goes_to_enrolment_with_qr_code_and_secret(coordinator):
    client = password_login("cora")
    response = client.get("/participants/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/2fa/enrol/?next=%2Fparticipants%2F")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "<path" in html
    device = TOTPDevice.objects.get(user=coordinator)
    assert not device.confirmed
    shown = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    assert base64.b32decode(shown) == device.bin_key


def test_enrolment_confirms_with_a_correct_code_and_unlocks_the_pages(coordinator):
    client = password_login("cora")
    client.get("/account/2fa/enrol/")
    device = TOTPDevice.objects.get(user=coordinator)
    response = client.post("/account/2fa/enrol/", {"token": code(device), "next": "/participants/"})
    assert response.status_code == 302 and response["Location"] == "/participants/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/participants/").status_code == 200
    assert client.get("/").status_code == 200
    assert LedgerEntry.objects.filter(action="2fa-enrol", entity_id="cora").exists()


def test_until_verified_only_the_two_factor_pages_and_logout_are_reachable(enrolled):
    client = password_login("cora")
    for path in ("/", "/participants/", "/screening/", "/randomisation/", "/data/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/2fa/verify/"), path
    refused_post = client.post("/screening/", {"anything": "1"})
    assert refused_post.status_code == 302 and refused_post["Location"] == "/account/2fa/verify/"
    api = client.get("/api/participants/")
    assert api.status_code == 403 and api.json() == {"detail": "two-factor verification required"}
    assert client.get("/account/2fa/verify/").status_code == 200
    assert client.get("/health/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/account/2fa/verify/").status_code == 302  # logged out: back to the login page


def test_correct_code_verifies_the_session_and_goes_to_next(enrolled):
    client = password_login("cora")
    response = client.post("/account/2fa/verify/", {"token": code(enrolled), "next": "/participants/"})
    assert response.status_code == 302 and response["Location"] == "/participants/"
    assert client.get("/participants/").status_code == 200
    assert LedgerEntry.objects.filter(action="2fa-verified", actor="cora").exists()
    # A new login is a new session: the code is asked again.
    again = password_login("cora")
    assert again.get("/participants/")["Location"].startswith("/account/2fa/verify/")


def test_next_must_stay_on_this_site(enrolled):
    client = password_login("cora")
    response = client.post("/account/2fa/verify/", {"token": code(enrolled), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_wrong_code_is_refused_audited_and_throttled(enrolled):
    client = password_login("cora")
    refused = client.post("/account/2fa/verify/", {"token": wrong_code(enrolled)})
    assert refused.status_code == 400
    assert "That code is not right" in refused.content.decode()
    assert client.get("/participants/").status_code == 302
    failures = LedgerEntry.objects.filter(action="2fa-failed", actor="cora")
    assert failures.count() == 1 and failures.get().field == "verify"
    # django-otp's throttle: straight after a wrong code even the right one waits (1 s, doubling) ...
    throttled = client.post("/account/2fa/verify/", {"token": code(enrolled)})
    assert throttled.status_code == 400 and "Too many wrong codes" in throttled.content.decode()
    assert client.get("/participants/").status_code == 302
    # ... and once the wait is over it is accepted.
    TOTPDevice.objects.filter(pk=enrolled.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5))
    assert client.post("/account/2fa/verify/", {"token": code(enrolled)}).status_code == 302
    assert client.get("/participants/").status_code == 200


def test_malformed_code_is_refused_at_the_field(enrolled):
    client = password_login("cora")
    response = client.post("/account/2fa/verify/", {"token": "12ab"})
    html = response.content.decode()
    assert response.status_code == 400 and 'aria-invalid="true"' in html and "6-digit code" in html
    assert LedgerEntry.objects.filter(action="2fa-failed", actor="cora").count() == 1


def test_a_code_cannot_be_replayed(enrolled):
    first = password_login("cora")
    token = code(enrolled)
    assert first.post("/account/2fa/verify/", {"token": token}).status_code == 302
    second = password_login("cora")
    assert second.post("/account/2fa/verify/", {"token": token}).status_code == 400


def test_blinded_assessor_is_not_asked_for_a_code():
    install()
    user("anna", "assessor", "BAL")
    client = password_login("anna")
    assert client.get("/").status_code == 200


def test_reset_removes_the_device_with_a_reason_and_enrolment_starts_again(enrolled, coordinator):
    assert reset_two_factor(coordinator, Context(actor="adam", channel="web"), reason="lost phone") == 1
    entry = LedgerEntry.objects.get(action="2fa-reset")
    assert (entry.entity_id, entry.reason) == ("cora", "lost phone")
    client = password_login("cora")
    assert client.get("/")["Location"].startswith("/account/2fa/enrol/")


def test_switched_off_for_the_demo_with_a_banner(settings, coordinator):
    settings.TRIALDESK_REQUIRE_2FA = False
    client = password_login("cora")
    home = client.get("/")
    assert home.status_code == 200
    assert "two-factor authentication is OFF (demo)" in home.content.decode()
    settings.TRIALDESK_REQUIRE_2FA = True
    assert "two-factor authentication is OFF" not in Client().get("/login/").content.decode()
