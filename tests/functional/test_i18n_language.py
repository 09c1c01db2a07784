"""Language per user: the browser's language by default, the user's own choice once made (kept in
UserPreference, so it follows them to another browser), English when nothing says otherwise."""

import pytest
from django.test import Client

from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.demo import DEMO_PASSWORD, prepare
from trialdesk.protocol import load_protocol

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    protocol = load_protocol()
    return prepare(protocol, Context(actor="demo", channel="command", protocol_hash=protocol.content_hash))


def logged_in(username: str = "coordinator", **headers) -> Client:
    client = Client(**headers)
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, "demo login failed"
    return client


def test_english_is_the_default(demo):
    page = logged_in().get("/").content.decode()
    assert '<html lang="en">' in page
    assert "<h1>Today</h1>" in page and "Log out" in page and ">Participants</a>" in page


def test_login_page_follows_the_browser_language(demo):
    assert "<h1>Log ind</h1>" in Client(HTTP_ACCEPT_LANGUAGE="da").get("/login/").content.decode()
    assert "<h1>Log in</h1>" in Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/").content.decode()
    assert "<h1>Log in</h1>" in Client(HTTP_ACCEPT_LANGUAGE="fr").get("/login/").content.decode()


def test_choosing_danish_is_kept_for_the_user(demo):
    client = logged_in()
    response = client.post("/account/language/", {"language": "da", "next": "/participants/"})
    assert response.status_code == 302 and response["Location"] == "/participants/"
    assert UserPreference.objects.get(user__username="coordinator").language == "da"
    page = client.get("/").content.decode()
    assert '<html lang="da">' in page
    assert "<h1>I dag</h1>" in page and "Log ud" in page and ">Deltagere</a>" in page
    assert '<option value="da" selected lang="da">Dansk</option>' in page
    assert '<option value="en" lang="en">English</option>' in page  # each language in its own name
    assert 'data-sort="Sortér efter denne kolonne"' in page  # the words the page's script shows
    # Another browser, whose own language is English: the user's choice wins once they log in.
    other = logged_in(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert "<h1>I dag</h1>" in other
    # A user who chose nothing keeps the browser's language.
    assert "<h1>Today</h1>" in logged_in("assessor", HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()


def test_switching_back_to_english_returns_to_the_page(demo):
    client = logged_in(HTTP_ACCEPT_LANGUAGE="da")
    assert "<h1>I dag</h1>" in client.get("/").content.decode()
    response = client.post("/account/language/", {"language": "en"},
                           HTTP_REFERER="http://testserver/participants/?site=1")
    assert response["Location"] == "http://testserver/participants/?site=1"
    assert "<h1>Today</h1>" in client.get("/").content.decode()


def test_language_switch_refuses_unknown_languages_and_foreign_redirects(demo):
    client = logged_in()
    response = client.post("/account/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not UserPreference.objects.filter(user__username="coordinator").exists()
    assert client.get("/account/language/").status_code == 405
    assert Client().post("/account/language/", {"language": "da"}).status_code == 302  # to the login page
    assert not UserPreference.objects.exists()
