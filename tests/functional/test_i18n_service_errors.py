"""Service refusals speak the reader's language: Danish on the web pages of a user who chose Danish and in
API answers asked for in Danish (Accept-Language), English otherwise, and always English on the command
line (a contract scripts read), even in a process whose last web request was in Danish. What is stored
stays in one language: the refused input stores nothing, the accepted one is stored as typed."""

import pytest
from django.test import Client

from api_support import Api, token_for
from datamanagement_support import install, staff, with_baseline_form
from enrolment_support import TEST_KEY
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.participants import keys
from trialdesk.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key(monkeypatch, settings, tmp_path):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    settings.DATA_DIR = tmp_path


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def people(ctx):
    return staff()


def _client(who, language: str) -> Client:
    UserPreference.objects.update_or_create(user=who, defaults={"language": language})
    client = Client()
    client.force_login(who)
    return client


def test_a_refusal_on_a_web_page_is_in_the_users_language(ctx, people):
    participant = with_baseline_form(ctx)
    url = f"/data/p/{participant.trial_id}/query/"
    blank = {"visit": "baseline", "instrument": "baseline", "field": "age", "text": " "}
    danish = _client(people["dm"], "da").post(url, blank)
    assert danish.status_code == 400
    assert 'role="alert">skriv, hvad centret skal kontrollere' in danish.content.decode()
    english = _client(people["dm2"], "en").post(url, blank)
    assert 'role="alert">say what the site should check' in english.content.decode()
    assert not Query.objects.exists()
    # A refusal with values in it: the placeholders are filled in the Danish sentence.
    query = queries.raise_query(participant, ctx, user=people["dm"], text="Alder passer ikke")
    coordinator = _client(people["coord_bal"], "da")
    coordinator.post(f"/data/queries/{query.pk}/", {"action": "answer", "text": "Kontrolleret"})
    again = coordinator.post(f"/data/queries/{query.pk}/", {"action": "close", "text": ""})
    assert "din rolle tillader ikke at lukke forespørgsler (manage-queries)" in again.content.decode()
    dm = _client(people["dm"], "da")
    dm.post(f"/data/queries/{query.pk}/", {"action": "close", "text": ""})
    closed = dm.post(f"/data/queries/{query.pk}/", {"action": "close", "text": ""}, HTTP_HX_REQUEST="true")
    assert closed.status_code == 400
    assert f'role="alert">forespørgsel #{query.pk} er allerede lukket' in closed.content.decode()
    # Stored text is what was typed, or the service's English default: never a translation.
    texts = list(query.messages.values_list("text", flat=True))
    assert texts == ["Alder passer ikke", "Kontrolleret", "closed"]


def test_the_api_token_page_and_its_refusals_are_translated(ctx, people):
    page = _client(people["dm"], "da").post("/account/api-tokens/", {"name": "lab", "days": "999"})
    body = page.content.decode()
    assert page.status_code == 400
    assert "<h1>API-tokens</h1>" in body and "Opret token" in body and "Du har ingen API-tokens." in body
    assert 'role="alert">en token gælder i 1 til 365 dage, ikke 999' in body
    english = _client(people["dm2"], "en").post("/account/api-tokens/", {"name": "", "days": "x"})
    assert "say what the token is for" not in english.content.decode()  # days is checked first
    assert 'role="alert">a whole number of days' in english.content.decode()


def test_api_refusals_follow_accept_language(ctx, people):
    participant = with_baseline_form(ctx)
    query = queries.raise_query(participant, ctx, user=people["dm"], text="check the age")
    api = Api(token=token_for(people["coord_bal"]))
    path = f"/api/queries/{query.pk}/answer"
    danish = api.post(path, {"text": ""}, headers={"Accept-Language": "da"})
    assert danish.status_code == 422 and danish.json()["detail"] == "text: et svar er påkrævet"
    english = api.post(path, {"text": ""})
    assert english.status_code == 422 and english.json()["detail"] == "text: an answer is required"


def test_the_command_line_speaks_english_after_a_danish_request(ctx, people, capsys):
    page = _client(people["dm"], "da").post("/account/api-tokens/", {"name": "lab", "days": "999"})
    assert "en token gælder" in page.content.decode()  # this thread's last language was Danish
    capsys.readouterr()
    assert main(["token", "create", "--user", "dana", "--days", "999"]) == 2
    assert capsys.readouterr().err.strip().endswith("a token lasts 1 to 365 days, not 999")
