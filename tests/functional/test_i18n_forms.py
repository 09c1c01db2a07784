"""A user who chose Danish gets Danish forms: the screening form (labels, help texts, choices, buttons),
an assessment form's page with the instrument's own texts from the catalogue (storing the same codes), the
home page's panels and Django's own validation messages; the same pages stay English for an English user."""

import pytest
from django.urls import reverse
from django.utils import translation

from assessments_html import fields
from assessments_support import BASELINE_FORM, BASELINE_ON, consented, extreme_values
from enrolment_support import install, user
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.assessments.progress import Progress
from trialdesk.apps.assessments.queries import VisitRow
from trialdesk.instruments import get_library
from trialdesk.visits import VisitState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


def _danish(client, person):
    UserPreference.objects.create(user=person, language="da")
    client.force_login(person)
    return client


def _in_danish(page: str, danish: tuple[str, ...], english: tuple[str, ...]) -> None:
    assert [text for text in danish if text not in page] == []
    assert [text for text in english if text in page] == []


def _danish_form(ctx, client, code: str) -> tuple:
    """A consented participant, their baseline ``code`` form's URL and the page a Danish assessor gets."""
    participant = consented(ctx)
    url = f"/assessments/p/{participant.trial_id}/baseline/{code}/"
    return participant, url, _danish(client, user("anna", "assessor", "BAL")).get(url).content.decode()


def _complete(values: dict) -> dict:
    """A baseline form's POST that completes it with ``values``."""
    return {"assessed_on": BASELINE_ON.isoformat(), "action": "complete",
            **{f"item_{code}": value for code, value in values.items()}}  # fmt: skip


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


def test_assessment_form_in_danish_with_the_instruments_texts_from_the_catalogue(ctx, client):
    participant, _url, page = _danish_form(ctx, client, "panss")
    _in_danish(page, ("Vurderingsdato", "Gem kladde", "Komplet", "Log ud", ">Besøg</a>"),
               ("Save draft", "Assessment date"))  # fmt: skip
    # The instrument's own texts: item labels, the shared anchors' legend, section names, the period.
    _in_danish(page, ("Vrangforestillinger", "Aktiv social undgåelse", "fraværende", "moderat svær",
                      "Positiv skala", "Generel psykopatologisk skala", "den seneste uge"),
               ("Delusions", "moderate severe", "Positive scale", "the past week"))  # fmt: skip
    visits = client.get(f"/assessments/p/{participant.trial_id}/").content.decode()
    assert "samtykke givet" in visits and "mangler" in visits  # the participant's state, a form's status
    assert "IMRS (klient)" in visits and "IMRS (behandler)" in visits  # the forms' names, in the list too
    assert "IMRS (client)" not in visits


def test_a_form_entered_in_danish_stores_the_codes_the_english_one_stores(ctx, client):
    participant, url, page = _danish_form(ctx, client, "baseline")
    _in_danish(page, ("Alder (år)", "Beskæftigelse", "Førtidspension", "Kvinde", "Bor alene"),
               ("Disability pension", "Age (years)"))  # fmt: skip
    choices = get_library().get("baseline").item_map["employment"].choices
    assert fields(page)["item_employment"].options == ["", *(choice.code for choice in choices)]
    assert client.post(url, _complete(BASELINE_FORM)).status_code == 302
    assert Assessment.objects.get(participant=participant, instrument="baseline").values() == BASELINE_FORM


def test_home_page_panels_in_danish(ctx, client):
    consented(ctx)
    page = _danish(client, user("signe", "coordinator", "BAL")).get("/").content.decode()
    for danish in ("<h1>I dag</h1>", "Centerkoordinator", "Deltagere der venter på et trin", "Næste trin",
                   "Afventer baseline", "Screeningslog →"):
        assert danish in page, danish
    assert "Participants waiting for a step" not in page


def test_a_completed_forms_scores_are_named_in_danish(ctx, client):
    _participant, url, _page = _danish_form(ctx, client, "panss")
    assert client.post(url, _complete(extreme_values("panss"))).status_code == 302
    page = client.get(url).content.decode()
    named = (("Total", "total"), ("Positiv skala", "positive"), ("Negativ skala", "negative"),
             ("Generel psykopatologisk skala", "general"))  # fmt: skip
    assert [label for label, name in named if f'<th>{label}</th><td class="score" data-score="{name}">'
            not in page] == []  # fmt: skip


def test_the_fidelity_rating_form_in_danish(ctx, client):
    page = _danish(client, user("rita", "fidelity_rater")).get(reverse("intervention:rate")).content.decode()
    _in_danish(page, ("1. Gruppestørrelse", "13. Adfærdsmæssig tilpasning af medicinindtag"),
               ("Group size", "Behavioural tailoring"))  # fmt: skip


def test_a_visits_missing_forms_are_named_in_danish():
    progress = Progress(VisitState.OPEN, None, missing=("imrs_client", "gaf_f"), drafts=())
    row = VisitRow(visit=None, progress=progress, guess_due=True)  # type: ignore[arg-type]
    with translation.override("en"):
        assert row.missing_labels == ["IMRS (client)", "GAF-F", "allocation guess"]
    with translation.override("da"):
        assert row.missing_labels == ["IMRS (klient)", "GAF-F", "gæt på allokering"]
