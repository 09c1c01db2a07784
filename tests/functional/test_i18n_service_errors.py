"""Service refusals speak the reader's language: Danish on the web pages of a user who chose Danish and in
API answers asked for in Danish (Accept-Language), English otherwise, and always English on the command
line (a contract scripts read), even in a process whose last web request was in Danish. What is stored
stays in one language: the refused input stores nothing, the accepted one is stored as typed."""

import pytest
from django.core import mail
from django.test import Client

from api_support import Api, token_for
from datamanagement_support import install, staff, with_baseline_form
from enrolment_support import user
from registers_support import keeper
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.participants import keys
from trialdesk.cli import main

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


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


# --- randomisation: the refusals a coordinator meets most ---


def _waiting(ctx, people):
    """A list with two slots per stratum, used up by two randomisations; then a consented participant not
    yet baseline complete and a baseline-complete one in the exhausted stratum."""
    from assessments_support import consented
    from enrolment_support import enrol, install_rows
    from trialdesk.apps.randomisation.services import randomise

    user("soren", "statistician")
    install_rows(ctx, 2)
    randomise(enrol(ctx), ctx)
    randomise(enrol(ctx), ctx)
    return consented(ctx, "BAL"), enrol(ctx)


def _randomised_nothing(*participants) -> None:
    from trialdesk.apps.randomisation.models import Allocation

    for participant in participants:
        before = participant.status
        participant.refresh_from_db()
        assert participant.status == before
        assert not Allocation.objects.filter(participant=participant).exists()


def test_randomisation_refusals_on_the_web_page_are_in_the_users_language(ctx, people):
    not_ready, late = _waiting(ctx, people)
    danish = _client(people["coord_bal"], "da")
    page = danish.post(f"/randomisation/{not_ready.trial_id}/", {"confirm": "on"})
    assert page.status_code == 400
    assert (f"{not_ready.trial_id} har status samtykke givet: kun en deltager, der er egnet, har givet "
            "samtykke og har en komplet baseline, kan randomiseres") in page.content.decode()
    page = danish.post(f"/randomisation/{late.trial_id}/", {"confirm": "on"})
    assert page.status_code == 400
    assert ("den aktive allokeringsliste har ingen ubrugte pladser tilbage i stratum "
            "site=BAL|diagnosis=schizophrenia: ingen blev randomiseret") in page.content.decode()
    english = _client(user("carl", "coordinator", "BAL"), "en").post(
        f"/randomisation/{not_ready.trial_id}/", {"confirm": "on"})
    assert "is consented: only a participant who is eligible, consented and has a complete baseline" in (
        english.content.decode())
    _randomised_nothing(not_ready, late)
    # The statistician's alert is written in English, whatever the requester reads.
    assert "has no unused slot left in stratum site=BAL|diagnosis=schizophrenia" in mail.outbox[-1].body
    assert "pladser" not in mail.outbox[-1].body


def test_randomisation_refusals_in_the_api_follow_accept_language(ctx, people):
    not_ready, late = _waiting(ctx, people)
    api = Api(token=token_for(people["coord_bal"]))

    def randomise(participant, key: str, **headers):
        return api.post(f"/api/participants/{participant.trial_id}/randomisation",
                        headers={"Idempotency-Key": key, **headers})

    danish = randomise(late, "k1", **{"Accept-Language": "da"})
    assert danish.status_code == 409
    assert danish.json()["detail"] == (
        "den aktive allokeringsliste har ingen ubrugte pladser tilbage i stratum "
        "site=BAL|diagnosis=schizophrenia: ingen blev randomiseret; forsøgets statistiker har fået besked "
        "om at tilføje en liste")
    not_yet = randomise(not_ready, "k2", **{"Accept-Language": "da"}).json()["detail"]
    assert not_yet.startswith(f"{not_ready.trial_id} har status samtykke givet: kun en deltager")
    english = randomise(not_ready, "k3")
    assert english.status_code == 409
    assert english.json()["detail"].startswith(f"{not_ready.trial_id} is consented: only a participant")
    refused = api.post(f"/api/participants/{late.trial_id}/randomisation", headers={"Accept-Language": "da"})
    assert refused.status_code == 422 and refused.json()["field"] == "Idempotency-Key"
    _randomised_nothing(not_ready, late)


def test_randomisation_refusals_are_english_on_the_command_line(ctx, people, capsys, monkeypatch, tmp_path):
    from trialdesk.apps.randomisation.services import randomise
    from trialdesk.errors import UserError
    from trialdesk.web.bootstrap import setup

    not_ready, _late = _waiting(ctx, people)
    page = _client(people["coord_bal"], "da").post(f"/randomisation/{not_ready.trial_id}/", {"confirm": "on"})
    assert "kun en deltager" in page.content.decode()  # this thread's last language was Danish
    setup()  # what every command runs first
    with pytest.raises(UserError, match="is consented: only a participant who is eligible"):
        randomise(not_ready, ctx)
    # A whole command: the key check of `trialdesk register import` answers in English.
    monkeypatch.delenv(keys.ENV_KEY)
    extract = tmp_path / "extract.csv"
    extract.write_text("cpr,event,start_date,end_date\n010180-0001,er_visit,2011-05-02,\n")
    capsys.readouterr()
    keeper()
    assert main(["register", "import", str(extract), "--user", "keeper"]) == 2
    assert capsys.readouterr().err.startswith("error: no personal-data key: set TRIALDESK_PERSONAL_DATA_KEY")
    _randomised_nothing(not_ready)
