"""API tokens: made on the web page (behind two-factor authentication where required) or by the CLI, shown
once and stored only as a hash; refused when expired, revoked or the user is inactive; recorded in the
ledger without the token itself."""

import datetime as dt
import hashlib
import json
import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from api_support import Api, token_for
from enrolment_support import TEST_PASSWORD, install, user
from trialdesk import clock
from trialdesk.api.models import ApiToken
from trialdesk.api.tokens import TOUCH_EVERY
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator():
    install()
    return user("cora", "coordinator", "BAL")


def test_a_token_acts_as_its_user_and_only_its_hash_is_stored(coordinator):
    token = token_for(coordinator)
    assert token.startswith("td_") and len(token) > 40
    answer = Api(token=token).get("/api/me")
    assert answer.status_code == 200
    assert answer.json()["username"] == "cora"
    assert answer.json()["memberships"][0]["site"] == "BAL"
    stored = ApiToken.objects.get()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert all(token not in (e.new_value + e.old_value) for e in LedgerEntry.objects.all())
    assert LedgerEntry.objects.filter(entity="api-token", action="create").count() == 1


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer td_not-a-token", "Token td_x", "Basic abc"])
def test_requests_without_a_valid_token_are_unauthorised(coordinator, header):
    client = Client()
    answer = client.get("/api/me", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == "Bearer"
    assert answer.json()["detail"].startswith("a valid API token is required")


def test_expired_and_revoked_tokens_and_inactive_users_are_refused(coordinator):
    token = token_for(coordinator, days=1)
    with clock.frozen(clock.now() + dt.timedelta(days=1, seconds=1)):
        assert Api(token=token).get("/api/me").status_code == 401
    revoked = token_for(coordinator)
    revoked_id = ApiToken.objects.get(token_hash=hashlib.sha256(revoked.encode()).hexdigest()).pk
    assert main(["token", "revoke", str(revoked_id)]) == 0
    assert Api(token=revoked).get("/api/me").status_code == 401
    assert Api(token=token).get("/api/me").status_code == 200
    coordinator.is_active = False
    coordinator.save()
    assert Api(token=token).get("/api/me").status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(coordinator):
    token = token_for(coordinator)
    start = clock.now()
    with clock.frozen(start):
        Api(token=token).get("/api/me")
    assert ApiToken.objects.get().last_used_at == start
    with clock.frozen(start + TOUCH_EVERY / 2):
        Api(token=token).get("/api/me")
    assert ApiToken.objects.get().last_used_at == start
    with clock.frozen(start + TOUCH_EVERY):
        Api(token=token).get("/api/me")
    assert ApiToken.objects.get().last_used_at == start + TOUCH_EVERY


def test_the_web_page_makes_a_token_shown_once_and_revokes_it(coordinator):
    client = Client()
    client.force_login(coordinator)
    bad = client.post("/account/api-tokens/", {"name": "", "days": "999"})
    assert bad.status_code == 400
    assert not ApiToken.objects.exists()
    made = client.post("/account/api-tokens/", {"name": "nightly sync", "days": "30"})
    assert made.status_code == 200
    token = re.search(r'<code id="new-token">(td_[^<]+)</code>', made.content.decode()).group(1)
    assert Api(token=token).get("/api/me").json()["username"] == "cora"
    listing = client.get("/account/api-tokens/").content.decode()
    assert "nightly sync" in listing and token not in listing
    record = ApiToken.objects.get()
    assert LedgerEntry.objects.get(entity="api-token", action="create").channel == "web"
    assert client.post(f"/account/api-tokens/{record.pk}/revoke/").status_code == 302
    assert Api(token=token).get("/api/me").status_code == 401
    other = user("otto", "coordinator", "BAL")
    theirs = token_for(other)
    theirs_id = ApiToken.objects.get(user=other).pk
    assert client.post(f"/account/api-tokens/{theirs_id}/revoke/").status_code == 404
    assert Api(token=theirs).get("/api/me").status_code == 200


def test_two_factor_guards_the_token_page_not_token_requests(coordinator, settings):
    settings.TRIALDESK_REQUIRE_2FA = True
    TOTPDevice.objects.create(user=coordinator, name="authenticator app", confirmed=True)
    client = Client()
    assert client.post("/login/", {"username": "cora", "password": TEST_PASSWORD}).status_code == 302
    page = client.post("/account/api-tokens/", {"name": "sneaky", "days": "30"})
    assert page.status_code == 302
    assert page["Location"].startswith("/account/2fa/verify/")
    assert not ApiToken.objects.exists()
    # A session that owes its second factor gets no API access either.
    refused = client.get("/api/me")
    assert (refused.status_code, refused.json()["detail"]) == (403, "two-factor verification required")
    # A token made after the second factor (here by the operator's command) needs no session step.
    token = token_for(coordinator)
    assert Api(token=token).get("/api/me").status_code == 200


def test_the_cli_makes_lists_and_revokes_tokens(coordinator, capsys):
    assert main(["token", "create", "--user", "cora", "--name", "lab sync", "--days", "7", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert Api(token=made["token"]).get("/api/me").status_code == 200
    assert main(["token", "list", "--user", "cora", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(row["id"], row["name"], row["revoked"]) for row in listed] == [(made["id"], "lab sync", False)]
    assert made["token"] not in json.dumps(listed)
    assert main(["token", "revoke", str(made["id"])]) == 0
    assert Api(token=made["token"]).get("/api/me").status_code == 401
    assert LedgerEntry.objects.get(entity="api-token", action="revoke").channel == "command"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "create", "--user", "nobody"], "no active user named 'nobody'"),
        (["token", "create", "--user", "cora", "--days", "0"], "days: a token lasts 1 to 365 days, not 0"),
        (["token", "revoke", "424242"], "no token #424242"),
    ],
)
def test_cli_refusals_are_one_line_and_status_2(coordinator, capsys, argv, message):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not ApiToken.objects.exists()
