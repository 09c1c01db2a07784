"""Visits and assessments through the API: schedule, booking, missed visits, worklist, drafts, completion,
corrections (reason required), not done, rater rights and idempotent form submission."""

import datetime as dt

import pytest

from api_support import Api
from assessments_support import BASELINE_ON, baseline_done, consented, extreme_values
from enrolment_support import install, user
from trialdesk.apps.assessments.models import Assessment, ItemResponse
from trialdesk.apps.ledger.models import LedgerEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def assessor(ctx):
    return Api(user("anna", "assessor", "BAL"))


def _form(trial_id: str, instrument: str = "panss", visit: str = "baseline") -> str:
    return f"/api/participants/{trial_id}/visits/{visit}/assessments/{instrument}"


def test_schedule_lists_every_protocol_visit_with_form_states(ctx, assessor):
    participant = consented(ctx)
    answer = assessor.get(f"/api/participants/{participant.trial_id}/visits")
    assert answer.status_code == 200
    visits = answer.json()["visits"]
    assert [v["code"] for v in visits][:1] == ["baseline"]
    assert visits[0]["state"] == "open"
    assert {f["status"] for f in visits[0]["forms"]} == {"missing"}
    assert visits[0]["missing"] == [f["instrument"] for f in visits[0]["forms"]]


def test_complete_a_form_then_correct_it_only_with_a_reason(ctx, assessor):
    participant = consented(ctx)
    path = _form(participant.trial_id)
    values = extreme_values("panss", highest=False)
    body = {"assessed_on": BASELINE_ON.isoformat(), "values": values, "complete": True}
    answer = assessor.put(path, body)
    assert answer.status_code == 200
    stored = answer.json()
    assert stored["status"] == "complete"
    assert {s["name"]: s["value"] for s in stored["scores"]}["total"] == 30
    assert assessor.get(path).json() == stored
    changed = {**values, "P1": 5}
    refused = assessor.put(path, {**body, "values": changed})
    assert refused.status_code == 422
    assert refused.json()["field"] == "reason"
    assert Assessment.objects.get().values()["P1"] == 1
    corrected = assessor.put(path, {**body, "values": changed, "reason": "transcription error"})
    assert corrected.status_code == 200
    assert corrected.json()["values"]["P1"] == 5
    change = LedgerEntry.objects.get(entity="assessment", field="item P1")
    assert (change.channel, change.reason, change.old_value, change.new_value) == (
        "api", "transcription error", "1", "5"
    )


def test_a_refused_value_names_the_item_and_stores_nothing(ctx, assessor):
    participant = consented(ctx)
    values = {**extreme_values("panss"), "P1": 9}
    answer = assessor.put(_form(participant.trial_id),
                          {"assessed_on": BASELINE_ON.isoformat(), "values": values, "complete": True})
    assert answer.status_code == 422
    assert answer.json()["field"] == "item_P1"
    assert "P1" in answer.json()["fields"]["item_P1"]
    assert not Assessment.objects.exists()
    assert not ItemResponse.objects.exists()


def test_a_future_date_and_an_unknown_item_are_refused(ctx, assessor):
    participant = consented(ctx)
    future = dt.date(2099, 1, 1).isoformat()
    answer = assessor.put(_form(participant.trial_id),
                          {"assessed_on": future, "values": {"P1": 2, "Q7": 1}, "complete": False})
    assert answer.status_code == 422
    assert {"assessed_on", "instrument"} <= set(answer.json()["fields"])
    assert not Assessment.objects.exists()


def test_draft_then_not_done(ctx, assessor):
    participant = consented(ctx)
    path = _form(participant.trial_id, "hamd17")
    body = {"assessed_on": BASELINE_ON.isoformat(), "values": {"1": 2}, "complete": False}
    draft = assessor.put(path, body)
    assert draft.status_code == 200
    assert draft.json()["status"] == "draft"
    no_reason = assessor.post(f"{path}/not-done", {"reason": " "})
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "not_done_reason")
    done = assessor.post(f"{path}/not-done", {"reason": "participant too unwell"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["not_done_reason"]) == ("not_done", "participant too unwell")
    assert done.json()["values"] == {}


def test_unknown_visit_or_instrument_is_not_found(ctx, assessor):
    participant = consented(ctx)
    assert assessor.get(_form(participant.trial_id, "panss", "m99")).status_code == 404
    assert assessor.get(_form(participant.trial_id, "nosuch")).status_code == 404
    assert assessor.get(_form(participant.trial_id, "csq8")).status_code == 404  # not at baseline


def test_form_rights_follow_the_rater(ctx):
    participant = consented(ctx)
    coordinator = Api(user("signe", "coordinator", "BAL"))
    body = {"assessed_on": BASELINE_ON.isoformat(), "values": {"P1": 2}, "complete": False}
    refused = coordinator.put(_form(participant.trial_id, "panss"), body)
    assert refused.status_code == 403
    assert coordinator.get(_form(participant.trial_id, "panss")).status_code == 403
    allowed = coordinator.put(_form(participant.trial_id, "mhrm"), {**body, "values": {"1": 2}})
    assert allowed.status_code == 200
    facilitator = Api(user("frida", "facilitator", "BAL"))
    assert facilitator.get(_form(participant.trial_id, "panss")).status_code == 403


def test_form_submission_with_an_idempotency_key_is_recorded_once(ctx, assessor):
    participant = consented(ctx)
    body = {"assessed_on": BASELINE_ON.isoformat(), "values": {"P1": 2}, "complete": False}
    headers = {"Idempotency-Key": "draft-1"}
    first = assessor.put(_form(participant.trial_id), body, headers=headers)
    again = assessor.put(_form(participant.trial_id), body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert LedgerEntry.objects.filter(entity="assessment", action="save-draft").count() == 1
    clash = assessor.put(_form(participant.trial_id), {**body, "values": {"P1": 3}}, headers=headers)
    assert (clash.status_code, clash.json()["field"]) == (409, "Idempotency-Key")
    assert Assessment.objects.get().values() == {"P1": 2}


def test_booking_and_missed_visits(ctx, assessor):
    participant = baseline_done(ctx)
    path = f"/api/participants/{participant.trial_id}/visits"
    booked = assessor.post(f"{path}/m9/booking", {"booked_on": "2011-12-01"})
    assert booked.status_code == 200
    m9 = next(v for v in booked.json()["visits"] if v["code"] == "m9")
    assert m9["booked_on"] == "2011-12-01"
    early = assessor.post(f"{path}/m9/booking", {"booked_on": "2011-01-01"})
    assert (early.status_code, early.json()["field"]) == (422, "booked_on")
    unbooked = assessor.post(f"{path}/m9/booking", {"booked_on": None})
    assert next(v for v in unbooked.json()["visits"] if v["code"] == "m9")["booked_on"] is None
    no_reason = assessor.post(f"{path}/m21/missed", {"reason": ""})
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "missed_reason")
    missed = assessor.post(f"{path}/m21/missed", {"reason": "moved abroad"})
    assert next(v for v in missed.json()["visits"] if v["code"] == "m21")["state"] == "missed"
    again = assessor.post(f"{path}/m21/missed", {"reason": "moved abroad"})
    assert again.status_code == 409
    assert LedgerEntry.objects.filter(entity="visit", action="book", channel="api").count() == 2


def test_worklist_shows_open_visits_at_the_callers_sites(ctx, assessor):
    own = consented(ctx, "BAL")
    consented(ctx, "FRB")
    answer = assessor.get("/api/worklist")
    assert answer.status_code == 200
    assert [(row["trial_id"], row["visit"]["code"]) for row in answer.json()] == [(own.trial_id, "baseline")]
    monitor = Api(user("mona", "fidelity_rater", "BAL"))
    assert monitor.get("/api/worklist").status_code == 403
