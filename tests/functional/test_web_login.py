"""Every demo login works through the real login form, and lands on a home page for its role."""

import pytest
from django.test import Client

from trialdesk.apps.accounts.roles import ROLE_LABELS
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.demo import DEMO_PASSWORD, DEMO_STAFF, prepare
from trialdesk.protocol import load_protocol

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    protocol = load_protocol()
    return prepare(protocol, Context(actor="demo", channel="command", protocol_hash=protocol.content_hash))


@pytest.mark.parametrize("login", DEMO_STAFF, ids=lambda login: login.username)
def test_each_role_logs_in_and_sees_its_home(demo, login):
    client = Client()
    response = client.post("/login/", {"username": login.username, "password": DEMO_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == "/"
    assert ROLE_LABELS[login.role] in response.content.decode()
    assert LedgerEntry.objects.filter(action="login", actor=login.username).exists()


def test_wrong_password_is_refused_and_audited(demo):
    response = Client().post("/login/", {"username": "assessor", "password": "nope"})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert LedgerEntry.objects.filter(action="login-failed", actor="assessor").exists()


def test_home_requires_login():
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_prepare_is_idempotent(demo):
    protocol = load_protocol()
    again = prepare(protocol, Context(actor="demo", channel="command", protocol_hash=protocol.content_hash))
    assert [login.username for login, _ in again] == [login.username for login, _ in demo]


def test_health_endpoint_reports_the_database():
    response = Client().get("/health/")
    assert response.json()["status"] == "ok"
