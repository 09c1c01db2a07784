"""A user who chose Danish gets Danish forms: the screening form (labels, help texts, choices, buttons),
an assessment form's page (the instrument's own items stay as the instrument file has them), the home
page's panels and Django's own validation messages; the same pages stay English for an English user."""

import pytest

from assessments_support import consented
from enrolment_support import install, user
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.instruments import get_library

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


def _danish(client, person):
    UserPreference.objects.create(user=person, language="da")
    client.force_login(person)
    return client


def test_screening_form_in_danish(ctx, client):
    page = _danish(client, user("signe", "coordinator", "BAL")).get("/screening/new/").content.decode()
    for danish in ("Screeningsdato", "Henvist af", "CPR-nummer", "Fulde navn", "Kontakt (telefon, adresse)",
                   "DDMMÅÅ-SSSS", "Registrér screening",
                   "Alderskriterierne besvares ud fra fødselsdatoen i CPR-nummeret."):
        assert danish in page, danish
    assert " Ja</label>" in page and " Nej</label>" in page  # the yes/no criteria
    assert "Screening date" not in page and "Record screening" not in page
    # Django's own messages follow the language: an empty submission is refused at the field, in Danish.
    refused = client.post("/screening/new/", {"referral_source": "GP"}).content.decode()
    assert "Dette felt er påkrævet." in refused


def test_screening_form_stays_english_by_default(ctx, client):
    client.force_login(user("signe", "coordinator", "BAL"))
    page = client.get("/screening/new/").content.decode()
    assert "Screening date" in page and "Record screening" in page and "Screeningsdato" not in page


def test_assessment_form_in_danish_keeps_the_instruments_text(ctx, client):
    participant = consented(ctx)
    code = "panss"
    instrument = get_library().get(code)
    page = _danish(client, user("anna", "assessor", "BAL")).get(
        f"/assessments/p/{participant.trial_id}/baseline/{code}/"
    ).content.decode()
    for danish in ("Vurderingsdato", "Gem kladde", "Komplet", "Log ud", ">Besøg</a>"):
        assert danish in page, danish
    assert "Save draft" not in page and "Assessment date" not in page
    assert instrument.items[0].label in page  # protocol and instrument content is not translated
    visits = client.get(f"/assessments/p/{participant.trial_id}/").content.decode()
    assert "samtykke givet" in visits and "mangler" in visits  # the participant's state, a form's status


def test_home_page_panels_in_danish(ctx, client):
    consented(ctx)
    page = _danish(client, user("signe", "coordinator", "BAL")).get("/").content.decode()
    for danish in ("<h1>I dag</h1>", "Centerkoordinator", "Deltagere der venter på et trin", "Næste trin",
                   "Afventer baseline", "Screeningslog →"):
        assert danish in page, danish
    assert "Participants waiting for a step" not in page
