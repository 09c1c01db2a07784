"""The worklist, the participant's visit page (booking, missed visits, baseline date), the guess and incident
forms, and a self-report link from issue to reuse, through the Django test client."""

import datetime as dt
import re

import pytest
from django.test import Client

from assessments_html import fields, links, text
from assessments_support import (
    BASELINE_ON,
    allocation_list,
    baseline_done,
    complete,
    consented,
    extreme_values,
    randomised,
)
from enrolment_support import install, user
from trialdesk import clock
from trialdesk.apps.assessments.models import AllocationGuess, Assessment, UnblindingIncident, Visit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def anna(client, ctx):
    assessor = user("anna", "assessor", "BAL")
    client.force_login(assessor)
    return assessor


def test_the_worklist_shows_what_is_missing_soonest_closing_first(ctx, client, anna):
    later = baseline_done(ctx, on=dt.date(2011, 4, 20))
    sooner = baseline_done(ctx, on=dt.date(2011, 3, 10))
    complete(sooner, "m9", "gaf_f", ctx, dt.date(2011, 11, 20))
    with clock.frozen(dt.datetime(2011, 12, 25, 12, tzinfo=dt.UTC)):
        page = client.get("/assessments/")
    body = text(page.content.decode())
    assert page.status_code == 200
    assert body.index(sooner.trial_id) < body.index(later.trial_id)
    row = body[body.index(sooner.trial_id) : body.index(later.trial_id)]
    assert "2011-11-10 – 2012-01-10" in row
    assert "GAF-F" not in row.split("Still missing")[-1]
    assert "GAF-S, PSP, PANSS" in row
    assert f"/assessments/p/{sooner.trial_id}/" in links(page.content.decode())
    # Participants with nothing open are still one click away.
    with clock.frozen(dt.datetime(2011, 6, 1, 12, tzinfo=dt.UTC)):
        quiet = client.get("/assessments/").content.decode()
    assert "No visit is open or overdue" in text(quiet)
    assert {f"/assessments/p/{p.trial_id}/" for p in (sooner, later)} <= set(links(quiet))


def test_the_participant_page_lists_visits_forms_and_states(ctx, client, anna):
    participant = baseline_done(ctx)
    with clock.frozen(dt.datetime(2011, 12, 1, 12, tzinfo=dt.UTC)):
        html = client.get(f"/assessments/p/{participant.trial_id}/").content.decode()
    body = text(html)
    assert "Baseline date: 2011-03-10" in body
    assert "Target 2011-12-10, window 2011-11-10 – 2012-01-10" in body
    assert body.count("complete") >= 13
    assert f"/assessments/p/{participant.trial_id}/m9/panss/" in links(html)


def test_booking_and_marking_missed_from_the_visit_page(ctx, client, anna):
    participant = baseline_done(ctx)
    base = f"/assessments/p/{participant.trial_id}"
    assert client.post(f"{base}/m9/book/", {"booked_on": "2011-12-02"}).status_code == 302
    assert Visit.objects.get(participant=participant, code="m9").booked_on == dt.date(2011, 12, 2)
    refused = client.post(f"{base}/m21/book/", {"booked_on": "2011-01-01"})
    assert refused.status_code == 400
    assert "booked date 2011-01-01 is before the baseline date 2011-03-10" in text(refused.content.decode())
    refused = client.post(f"{base}/m21/missed/", {"missed_reason": ""})
    assert refused.status_code == 400
    assert client.post(f"{base}/m21/missed/", {"missed_reason": "moved abroad"}).status_code == 302
    assert Visit.objects.get(participant=participant, code="m21").missed_reason == "moved abroad"


def test_changing_the_baseline_date_needs_a_reason(ctx, client, anna):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, dt.date(2011, 3, 20))
    url = f"/assessments/p/{participant.trial_id}/baseline-date/"
    refused = client.post(url, {"baseline_date": "2011-03-15", "reason": ""})
    assert refused.status_code == 400
    assert "a reason is required to change the baseline date" in text(refused.content.decode())
    assert (
        client.post(url, {"baseline_date": "2011-03-15", "reason": "interview started earlier"}).status_code
        == 302
    )
    assert Visit.objects.get(participant=participant, code="baseline").target == dt.date(2011, 3, 15)


def test_the_guess_form_records_once(ctx, client, anna):
    allocation_list(ctx)
    participant = randomised(ctx)
    url = f"/assessments/p/{participant.trial_id}/m9/guess/"
    form = fields(client.get(url).content.decode())
    assert {"guess", "confidence", "guessed_on"} <= set(form)
    refused = client.post(url, {"guess": "TAU", "confidence": "", "guessed_on": "2011-12-01"})
    assert refused.status_code == 400
    assert "confidence is required with a guess" in text(refused.content.decode())
    ok = client.post(url, {"guess": "dont_know", "confidence": "", "guessed_on": "2011-12-01"})
    assert ok.status_code == 302
    assert AllocationGuess.objects.get().guess == "dont_know"
    assert "Your guess for this visit is recorded" in text(client.get(url).content.decode())


def test_the_incident_form(ctx, client, anna):
    allocation_list(ctx)
    participant = randomised(ctx)
    url = f"/assessments/p/{participant.trial_id}/incident/"
    refused = client.post(url, {"occurred_on": "2011-12-01", "how": "", "assessor_replaced": ""})
    assert refused.status_code == 400
    assert "say whether the assessor was replaced" in text(refused.content.decode())
    data = {"occurred_on": "2011-12-01", "visit": "m9", "how": "record_seen", "description": "saw a letter",
            "assessor_replaced": "yes"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    incident = UnblindingIncident.objects.get()
    assert (incident.how, incident.assessor_replaced, incident.reported_by) == ("record_seen", True, "anna")
    page = text(client.get(f"/assessments/p/{participant.trial_id}/").content.decode())
    assert "1 unblinding incident recorded" in page
    assert "saw a letter" not in page


def test_a_self_report_link_from_issue_to_reuse(ctx, client, anna):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    issue_url = f"/assessments/p/{participant.trial_id}/baseline/self-report-link/"
    form = client.get(issue_url).content.decode()
    assert [f.attrs["value"] for f in fields(form).values() if f.name == "instruments"]
    with clock.frozen(dt.datetime(2011, 3, 10, 9, tzinfo=dt.UTC)):
        issued = client.post(issue_url, {"instruments": ["ashs"], "valid_days": "2"})
    assert issued.status_code == 200
    url = re.search(
        r'id="self-report-url" href="(http://testserver/r/[^"]+/)"', issued.content.decode()
    ).group(1)
    path = url.removeprefix("http://testserver")
    phone = Client()  # the participant: no login
    with clock.frozen(dt.datetime(2011, 3, 10, 15, tzinfo=dt.UTC)):
        start = phone.get(path)
        assert start.status_code == 200
        assert start["Cache-Control"] == "no-store"
        assert f"{path}ashs/" in links(start.content.decode())
        assert participant.trial_id not in start.content.decode()
        questionnaire = phone.get(f"{path}ashs/").content.decode()
        radios = [f for f in fields(questionnaire).values() if f.attrs.get("type") == "radio"]
        assert {f.name for f in radios} == {f"item_{n}" for n in range(1, 7)}
        bad = {f"item_{n}": "8" for n in range(1, 7)} | {"item_3": "9"}
        refused = phone.post(f"{path}ashs/", bad)
        assert refused.status_code == 400
        assert "ashs item 3: 9 is not allowed; allowed values are 1, 2, 3, 4, 5, 6, 7, 8" in text(
            refused.content.decode())  # fmt: skip
        assert not Assessment.objects.filter(instrument="ashs").exists()
        values = {f"item_{k}": v for k, v in extreme_values("ashs").items()}
        done = phone.post(f"{path}ashs/", values)
        assert done.status_code == 302
        assert done["Location"] == "/r/done/"
        again = phone.get(path)
    assert again.status_code == 410
    assert "This link has already been used" in text(again.content.decode())
    assert Assessment.objects.get(instrument="ashs").source == "link"


def test_an_expired_or_unknown_link_gets_a_clear_page(ctx, client, anna):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    issue_url = f"/assessments/p/{participant.trial_id}/baseline/self-report-link/"
    with clock.frozen(dt.datetime(2011, 3, 10, 9, tzinfo=dt.UTC)):
        issued = client.post(issue_url, {"instruments": ["audit"], "valid_days": "1"}).content.decode()
    path = re.search(r'href="http://testserver(/r/[^"]+/)"', issued).group(1)
    with clock.frozen(dt.datetime(2011, 3, 11, 9, 0, 1, tzinfo=dt.UTC)):
        expired = Client().post(f"{path}audit/", {f"item_{k}": v for k, v in extreme_values("audit").items()})
    assert expired.status_code == 410
    assert "This link has expired" in text(expired.content.decode())
    assert not Assessment.objects.filter(instrument="audit").exists()
    unknown = Client().get("/r/made-up-token/")
    assert unknown.status_code == 404
    assert "This link is not valid" in text(unknown.content.decode())
