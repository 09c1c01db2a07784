"""Checking an entry field as it is typed (htmx, assessments.views.inline): the instrument's own rule answers
with the field's error text (empty when allowed), only to who may enter the form, and nothing is stored.
The browser side is in tests/browser/test_browser_htmx.py."""

import pytest
from django.utils import translation

from assessments_html import fields
from assessments_support import baseline_done, consented
from enrolment_support import install, user
from trialdesk.apps.accounts.models import UserPreference
from trialdesk.apps.assessments.formspec import build
from trialdesk.apps.assessments.models import Assessment, ItemResponse, Visit
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.instruments import get_library

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def participant(ctx):
    return baseline_done(ctx)


def _stored() -> tuple[int, int, int, int]:
    return (Assessment.objects.count(), ItemResponse.objects.count(), Visit.objects.count(),
            LedgerEntry.objects.count())  # fmt: skip


def _check(client, participant, instrument: str, item: str, value: str, *, visit: str = "m9"):
    url = f"/assessments/p/{participant.trial_id}/{visit}/{instrument}/check/{item}/"
    return client.post(url, {f"item_{item}": value}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (("panss", "P1", "4"), ""),
        (("panss", "P1", ""), ""),  # a draft may leave it empty; completing checks it again
        (("panss", "P1", "9"), "panss item P1: 9 is not allowed; allowed values are 1, 2, 3, 4, 5, 6, 7"),
        (("panss", "P1", "abc"),
         "panss item P1: &#x27;abc&#x27; is not a number; allowed values are 1, 2, 3, 4, 5, 6, 7"),
        (("ymrs", "1", "0.5"), ""),
        (("ymrs", "1", "0.3"), "ymrs item 1: 0.3 is not allowed; allowed values are 0, 0.5, ..., 4"),
    ],
)  # fmt: skip
def test_a_value_is_checked_by_the_instruments_rule(client, participant, typed, expected):
    client.force_login(user("anna", "assessor", "BAL"))
    before = _stored()
    answer = _check(client, participant, *typed)
    assert answer.status_code == 200
    assert answer.content.decode().strip() == expected
    assert _stored() == before


def test_a_list_field_of_a_staff_form_is_checked_too(client, ctx):
    participant = consented(ctx)
    client.force_login(user("cora", "coordinator", "BAL"))  # the typed baseline form: staff enter it
    refused = _check(client, participant, "baseline", "sex", "other", visit="baseline")
    assert refused.content.decode().strip() == (
        "baseline item sex: &#x27;other&#x27; is not allowed; allowed values are female, male")
    assert _check(client, participant, "baseline", "sex", "female", visit="baseline").content.strip() == b""


def test_the_form_wires_each_field_to_its_check(client, participant):
    client.force_login(user("anna", "assessor", "BAL"))
    html = client.get(f"/assessments/p/{participant.trial_id}/m9/panss/").content.decode()
    field = fields(html)["item_P1"].attrs
    assert field["hx-post"] == f"/assessments/p/{participant.trial_id}/m9/panss/check/P1/"
    assert field["hx-trigger"] == "input changed delay:400ms"
    assert field["hx-target"] == "next [data-field-error]" and field["hx-swap"] == "innerHTML"
    assert field["aria-describedby"] == "e-P1" and "aria-invalid" not in field
    assert '<span class="error" id="e-P1" data-field-error aria-live="polite"></span>' in html
    # A refused submission still marks the field and announces its error at once.
    refused = client.post(f"/assessments/p/{participant.trial_id}/m9/panss/",
                          {"assessed_on": "2011-12-01", "action": "draft", "item_P1": "9"})  # fmt: skip
    refused_html = refused.content.decode()
    assert fields(refused_html)["item_P1"].attrs["aria-invalid"] == "true"
    region = '<span class="error" id="e-P1" data-field-error aria-live="polite" role="alert">'
    assert f"{region}panss item P1: 9 is not allowed" in refused_html


def test_a_reader_who_may_not_enter_the_form_gets_no_checks(client, participant):
    client.force_login(user("dm", "data_manager"))  # reads assessments, enters none
    html = client.get(f"/assessments/p/{participant.trial_id}/m9/panss/").content.decode()
    assert "hx-post" not in html and "data-field-error" not in html
    assert fields(html)["item_P1"].attrs.get("disabled") == ""


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (("dm", "data_manager", None), 403),  # may read the form, not enter it
        (("cora", "coordinator", "BAL"), 403),  # opens the visits, does not rate the PANSS
        (("finn", "facilitator", "BAL"), 404),  # no outcome data at all: not even that the form exists
        (("frida", "assessor", "FRB"), 404),  # another site's participant
    ],
)
def test_who_may_not_enter_the_form_is_refused_and_nothing_is_stored(client, participant, who, status):
    client.force_login(user(*who))
    before = _stored()
    assert _check(client, participant, "panss", "P1", "9").status_code == status
    assert _stored() == before


def test_only_a_post_for_a_real_item_of_the_visit_is_answered(client, participant):
    client.force_login(user("anna", "assessor", "BAL"))
    url = f"/assessments/p/{participant.trial_id}/m9/panss/check/P1/"
    assert client.get(url, {"item_P1": "9"}).status_code == 405  # a value never travels in an address
    assert _check(client, participant, "panss", "X99", "1").status_code == 404
    assert _check(client, participant, "nosuch", "P1", "1").status_code == 404
    assert _check(client, participant, "baseline", "sex", "male").status_code == 404  # not at m9
    client.logout()
    assert _check(client, participant, "panss", "P1", "9")["Location"].startswith("/login/")


def test_the_check_and_the_forms_hints_speak_the_users_language(client, participant):
    anna = user("anna", "assessor", "BAL")
    UserPreference.objects.update_or_create(user=anna, defaults={"language": "da"})
    client.force_login(anna)
    answer = _check(client, participant, "panss", "P1", "9")
    assert answer.content.decode().strip() == (
        "panss punkt P1: 9 er ikke tilladt; tilladte værdier er 1, 2, 3, 4, 5, 6, 7")
    # The form's hints are cached per language: a Danish page does not leave Danish in an English one.
    baseline = get_library().get("baseline")

    def hint(language: str) -> str:
        with translation.override(language):
            spec = build(baseline)
        fields = {field.code: field for section in spec.sections for field in section.fields}
        return fields["years_since_first_contact"].allowed_text

    assert hint("da") == "et tal fra 0 til 90"
    assert hint("en") == "any number from 0 to 90"
    assert hint("da") == "et tal fra 0 til 90"
