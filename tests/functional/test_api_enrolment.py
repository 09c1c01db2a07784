"""The API's enrolment endpoints through the test client: participants, screening, consent, randomisation.

Each happy path, and each bad input refused with a JSON error naming the field and nothing stored.
"""

import pytest

from api_support import Api
from enrolment_support import (
    SCREENED_ON,
    answers,
    enrol,
    install,
    install_rows,
    new_cpr,
    screen,
    user,
)
from trialdesk.apps.consent.models import ConsentRecord
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.screening.models import Screening

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def coordinator(ctx):
    return Api(user("signe", "coordinator", "BAL"))


def _screening(**changes):
    body = {"site": "BAL", "screened_on": SCREENED_ON.isoformat(), "referral_source": "clinician",
            "cpr": new_cpr(), "name": "Test Person", "contact": "+45 1234 5678", "answers": answers()}
    body.update(changes)
    return body


def test_participant_list_is_scoped_to_the_callers_sites(ctx, coordinator):
    own = screen(ctx, "BAL").participant
    screen(ctx, "FRB")
    answer = coordinator.get("/api/participants")
    assert answer.status_code == 200
    assert [row["trial_id"] for row in answer.json()["items"]] == [own.trial_id]
    assert answer.json()["total"] == 1
    assert coordinator.get("/api/participants", site="FRB").json()["items"] == []


def test_participant_detail_has_status_history_and_no_identifying_data(ctx, coordinator):
    participant = screen(ctx, "BAL").participant
    answer = coordinator.get(f"/api/participants/{participant.trial_id}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "eligible"
    assert [e["to_state"] for e in body["events"]] == ["screened", "eligible"]
    assert "Test Person" not in answer.content.decode()
    assert "cpr" not in body


def test_another_sites_participant_is_not_found(ctx, coordinator):
    other = screen(ctx, "FRB").participant
    answer = coordinator.get(f"/api/participants/{other.trial_id}")
    assert answer.status_code == 404
    assert answer.json()["detail"] == f"no participant {other.trial_id} among yours"


def test_personal_data_only_to_key_holders_and_each_reading_is_in_the_ledger(ctx, coordinator):
    participant = screen(ctx, "BAL").participant
    assert coordinator.get(f"/api/participants/{participant.trial_id}/personal-data").status_code == 403
    holder = Api(user("kirsten", "coordinator", "BAL", personal_data=True))
    answer = holder.get(f"/api/participants/{participant.trial_id}/personal-data")
    assert answer.status_code == 200
    assert answer.json()["name"] == "Test Person"
    reading = LedgerEntry.objects.filter(entity="personal-data", action="view").get()
    assert (reading.channel, reading.actor, reading.new_value) == ("api", "kirsten", "")


def test_lookup_by_cpr_in_the_body(ctx):
    holder = Api(user("kirsten", "coordinator", "BAL", personal_data=True))
    cpr = new_cpr()
    made = holder.post("/api/screenings", _screening(cpr=cpr))
    assert made.status_code == 201
    found = holder.post("/api/participants/lookup", {"cpr": cpr})
    assert found.status_code == 200
    assert found.json()["trial_id"] == made.json()["trial_id"]
    assert holder.post("/api/participants/lookup", {"cpr": new_cpr()}).status_code == 404
    bad = holder.post("/api/participants/lookup", {"cpr": "12"})
    assert (bad.status_code, bad.json()["field"]) == (422, "cpr")


def test_screening_registers_and_gives_the_verdict(ctx, coordinator):
    answer = coordinator.post("/api/screenings", _screening(answers=answers(E3=True)))
    assert answer.status_code == 201
    body = answer.json()
    assert body["verdict"] == "ineligible"
    assert [r["code"] for r in body["reasons"]] == ["E3"]
    assert Participant.objects.get(trial_id=body["trial_id"]).status == "ineligible"
    assert set(LedgerEntry.objects.filter(entity="screening").values_list("channel", flat=True)) == {"api"}


def test_a_bad_screening_names_every_field_and_stores_nothing(ctx, coordinator):
    wrong = {**answers(), "I2": "perhaps", "Z9": True}
    bad = _screening(cpr="311399-0000", referral_source=" ", answers=wrong)
    del bad["answers"]["I4"]
    answer = coordinator.post("/api/screenings", bad)
    assert answer.status_code == 422
    fields = answer.json()["fields"]
    assert set(fields) == {"cpr", "referral_source", "I2", "I4", "Z9"}
    assert answer.json()["field"] in fields
    assert not Participant.objects.exists()
    assert not Screening.objects.exists()


def test_screening_refuses_malformed_bodies_with_the_field(ctx, coordinator):
    answer = coordinator.post("/api/screenings", _screening(screened_on="yesterday"))
    assert (answer.status_code, answer.json()["field"]) == (422, "screened_on")
    missing = _screening()
    del missing["name"]
    answer = coordinator.post("/api/screenings", missing)
    assert (answer.status_code, answer.json()["field"]) == (422, "name")
    answer = coordinator.post("/api/screenings", _screening(site="NOPE"))
    assert (answer.status_code, answer.json()["field"]) == (422, "site")
    not_json = coordinator.client.post("/api/screenings", "{", content_type="application/json",
                                       headers={"Authorization": f"Bearer {coordinator.token}"})
    assert not_json.json() == {"detail": "Cannot parse request body", "field": None}
    assert not_json.status_code == 400
    assert not Participant.objects.exists()


def test_screening_at_another_site_is_refused(ctx, coordinator):
    answer = coordinator.post("/api/screenings", _screening(site="FRB"))
    assert answer.status_code == 404
    assert not Participant.objects.exists()


def test_screening_with_an_idempotency_key_registers_once(ctx, coordinator):
    body = _screening()
    first = coordinator.post("/api/screenings", body, headers={"Idempotency-Key": "screen-1"})
    again = coordinator.post("/api/screenings", body, headers={"Idempotency-Key": "screen-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Participant.objects.count() == 1
    other = coordinator.post("/api/screenings", _screening(), headers={"Idempotency-Key": "screen-1"})
    assert (other.status_code, other.json()["field"]) == (409, "Idempotency-Key")
    assert Participant.objects.count() == 1


def test_a_refused_request_releases_its_idempotency_key(ctx, coordinator):
    body = _screening(referral_source="")
    assert coordinator.post("/api/screenings", body, headers={"Idempotency-Key": "k"}).status_code == 422
    body["referral_source"] = "clinician"
    assert coordinator.post("/api/screenings", body, headers={"Idempotency-Key": "k"}).status_code == 201


def test_consent_then_state(ctx, coordinator):
    participant = screen(ctx, "BAL").participant
    path = f"/api/participants/{participant.trial_id}"
    body = {"version": "1.0", "oral_on": SCREENED_ON.isoformat(), "written_on": SCREENED_ON.isoformat(),
            "taken_by": "signe"}
    answer = coordinator.post(f"{path}/consents", body)
    assert answer.status_code == 201
    assert answer.json()["version"] == "1.0"
    state = coordinator.get(f"{path}/consent").json()
    assert state["status"] == "consented"
    assert [c["version"] for c in state["consents"]] == ["1.0"]
    again = coordinator.post(f"{path}/consents", body)
    assert (again.status_code, again.json()["field"]) == (422, "version")
    assert ConsentRecord.objects.count() == 1


def test_bad_consent_names_the_field_and_stores_nothing(ctx, coordinator):
    participant = screen(ctx, "BAL").participant
    bad = {"version": "9.9", "oral_on": None, "written_on": "2010-01-01", "taken_by": ""}
    answer = coordinator.post(f"/api/participants/{participant.trial_id}/consents", bad)
    assert answer.status_code == 422
    assert {"version", "oral_on", "written_on", "taken_by"} <= set(answer.json()["fields"])
    assert not ConsentRecord.objects.exists()


def test_decline_and_withdrawal(ctx, coordinator):
    declining = screen(ctx, "BAL").participant
    answer = coordinator.post(f"/api/participants/{declining.trial_id}/decline",
                              {"category": "nope", "declined_on": SCREENED_ON.isoformat()})
    assert (answer.status_code, answer.json()["field"]) == (422, "category")
    enrolled = enrol(ctx, "BAL")
    answer = coordinator.post(f"/api/participants/{enrolled.trial_id}/withdrawals",
                              {"scope": "data_collection", "withdrawn_on": SCREENED_ON.isoformat()})
    assert answer.status_code == 201
    enrolled.refresh_from_db()
    assert enrolled.status == "withdrawn"
    state = coordinator.get(f"/api/participants/{enrolled.trial_id}/consent").json()
    assert [w["scope"] for w in state["withdrawals"]] == ["data_collection"]


def test_randomise_is_idempotent_per_key_and_per_participant(ctx, coordinator):
    install_rows(ctx, 4)
    participant = enrol(ctx, "BAL")
    path = f"/api/participants/{participant.trial_id}/randomisation"
    first = coordinator.post(path, headers={"Idempotency-Key": "r-1"})
    assert first.status_code == 201
    assert first.json()["arm"] in {"IMR", "TAU"}
    replay = coordinator.post(path, headers={"Idempotency-Key": "r-1"})
    assert (replay.status_code, replay.json()) == (201, first.json())
    other_key = coordinator.post(path, headers={"Idempotency-Key": "r-2"})
    assert other_key.status_code == 200
    assert other_key.json()["arm"] == first.json()["arm"]
    assert Allocation.objects.count() == 1
    ledger = LedgerEntry.objects.filter(action="randomise")
    assert [(e.channel, e.actor) for e in ledger] == [("api", "signe")]
    assert "IMR" not in ledger.get().new_value and "TAU" not in ledger.get().new_value
    allocation = coordinator.get(f"/api/participants/{participant.trial_id}/allocation")
    assert allocation.json()["arm"] == first.json()["arm"]


def test_randomise_same_key_different_request_is_a_conflict(ctx, coordinator):
    install_rows(ctx, 4)
    first, second = enrol(ctx, "BAL"), enrol(ctx, "BAL")
    assert coordinator.post(f"/api/participants/{first.trial_id}/randomisation",
                            headers={"Idempotency-Key": "same"}).status_code == 201
    clash = coordinator.post(f"/api/participants/{second.trial_id}/randomisation",
                             headers={"Idempotency-Key": "same"})
    assert clash.status_code == 409
    assert clash.json()["field"] == "Idempotency-Key"
    assert not Allocation.objects.filter(participant=second).exists()


def test_randomise_needs_a_key_and_a_complete_baseline(ctx, coordinator):
    install_rows(ctx, 4)
    eligible = screen(ctx, "BAL").participant
    path = f"/api/participants/{eligible.trial_id}/randomisation"
    no_key = coordinator.post(path)
    assert (no_key.status_code, no_key.json()["field"]) == (422, "Idempotency-Key")
    too_early = coordinator.post(path, headers={"Idempotency-Key": "x"})
    assert too_early.status_code == 409
    assert "complete baseline" in too_early.json()["detail"]
    assert not Allocation.objects.exists()


def test_an_assessor_may_not_randomise_or_read_allocations(ctx):
    install_rows(ctx, 4)
    participant = enrol(ctx, "BAL")
    assessor = Api(user("anna", "assessor", "BAL"))
    answer = assessor.post(f"/api/participants/{participant.trial_id}/randomisation",
                           headers={"Idempotency-Key": "a"})
    assert answer.status_code == 403
    assert not Allocation.objects.exists()
    assert assessor.get(f"/api/participants/{participant.trial_id}/allocation").status_code == 403
