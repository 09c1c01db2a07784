"""The enrolment pages end to end: generated screening form, log, lists, consent, randomise, unblinding."""

import re

import pytest
from django.core import mail
from django.test import Client

from enrolment_support import SCREENED_ON, TEST_PASSWORD, enrol, install, install_rows, screen, user
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.models import Participant, PersonalData, StatusEvent
from trialdesk.apps.participants.services import transition
from trialdesk.apps.participants.status import State
from trialdesk.apps.randomisation.models import Allocation, UnblindingRequest
from trialdesk.apps.screening.models import Screening

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


def _client(account):
    client = Client()
    client.force_login(account)
    return client


def _screening_post(**changes):
    data = {
        "site": "",
        "screened_on": SCREENED_ON.isoformat(),
        "referral_source": "CMHC psychiatrist",
        "cpr": "010180-2233",
        "name": "Hans Hansen",
        "contact": "",
        "I2": "yes",
        "I3": "F20.0",
        "I4": "yes",
        "I5": "yes",
        "E1": "no",
        "E2": "",
        "E3": "no",
        "E4": "no",
        "E5": "no",
        "E6": "no",
    }
    data.update(changes)
    return data


def _counts():
    return (
        Participant.objects.count(),
        PersonalData.objects.count(),
        Screening.objects.count(),
        StatusEvent.objects.count(),
    )


def test_screening_form_is_generated_from_the_protocol(ctx):
    coordinator = user("signe", "coordinator", "BAL", personal_data=True)
    page = _client(coordinator).get("/screening/new/").content.decode()
    for code in ("I2", "I3", "I4", "I5", "E1", "E2", "E3", "E4", "E5", "E6"):
        assert f'name="{code}"' in page
    assert 'name="I1"' not in page  # age comes from the CPR number
    assert "F20, F31" in page


def test_valid_screening_registers_the_person(ctx):
    coordinator = user("signe", "coordinator", "BAL", personal_data=True)
    client = _client(coordinator)
    bal = coordinator.memberships.get().site
    response = client.post("/screening/new/", _screening_post(site=bal.pk))
    assert response.status_code == 302
    assert response["Location"] == "/participants/BAL-0001/"
    page = client.get("/participants/BAL-0001/").content.decode()
    assert "eligible" in page
    assert "Hans Hansen" not in page
    assert "010180-2233" not in page
    personal = client.get("/participants/BAL-0001/personal/").content.decode()
    assert "Hans Hansen" in personal
    assert "010180-2233" in personal
    assert LedgerEntry.objects.filter(entity="personal-data", action="view").count() == 1


def test_bad_screening_shows_each_problem_at_its_field_and_stores_nothing(ctx):
    coordinator = user("signe", "coordinator", "BAL", personal_data=True)
    bal = coordinator.memberships.get().site
    before = _counts()
    response = _client(coordinator).post(
        "/screening/new/", _screening_post(site=bal.pk, cpr="3102801234", I2="", I3="F2X")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "CPR number does not start with a real birth date" in page
    assert "missing answer to I2" in page
    assert "&#x27;F2X&#x27; is not an ICD-10 code" in page
    assert "3102801234" in page  # re-shown in the user's own form field only
    assert _counts() == before


def test_duplicate_person_via_the_form_is_refused(ctx):
    coordinator = user("signe", "coordinator", "BAL", personal_data=True)
    bal = coordinator.memberships.get().site
    client = _client(coordinator)
    assert client.post("/screening/new/", _screening_post(site=bal.pk)).status_code == 302
    before = _counts()
    response = client.post("/screening/new/", _screening_post(site=bal.pk, cpr="0101802233"))
    assert response.status_code == 400
    assert "already registered in the trial as BAL-0001" in response.content.decode()
    assert _counts() == before


def test_a_coordinator_cannot_screen_at_another_site(ctx):
    from trialdesk.apps.trial.models import Site

    coordinator = user("signe", "coordinator", "BAL", personal_data=True)
    before = _counts()
    frb = Site.objects.get(code="FRB")
    response = _client(coordinator).post("/screening/new/", _screening_post(site=frb.pk))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert _counts() == before


def test_coordinators_see_their_own_site_only(ctx):
    screen(ctx, "BAL")
    screen(ctx, "FRB")
    coordinator = user("signe", "coordinator", "BAL")
    client = _client(coordinator)
    listing = client.get("/participants/").content.decode()
    assert "BAL-0001" in listing
    assert "FRB-0001" not in listing
    assert client.get("/participants/FRB-0001/").status_code == 404
    log = client.get("/screening/").content.decode()
    assert "BAL-0001" in log
    assert "FRB-0001" not in log


def test_screening_log_filters(ctx):
    screen(ctx, "BAL")
    screen(ctx, "BAL", E4=True)
    manager = user("signe", "coordinator", "BAL")
    page = _client(manager).get("/screening/", {"verdict": "ineligible"}).content.decode()
    assert "BAL-0002" in page
    assert "BAL-0001" not in page
    page = _client(manager).get("/screening/", {"date_from": "2011-04-01"}).content.decode()
    assert "No screenings match" in page


def test_consent_then_randomise_with_confirmation(ctx):
    install_rows(ctx, 2)
    coordinator = user("signe", "coordinator", "BAL")
    client = _client(coordinator)
    participant = screen(ctx).participant
    response = client.post(
        f"/consent/{participant.trial_id}/",
        {"version": "1.0", "oral_on": "2011-03-01", "written_on": "", "taken_by": "signe"},
    )
    assert response.status_code == 400
    assert "the date of written consent is required" in response.content.decode()
    response = client.post(
        f"/consent/{participant.trial_id}/",
        {"version": "1.0", "oral_on": "2011-03-01", "written_on": "2011-03-02", "taken_by": "signe"},
    )
    assert response.status_code == 302
    transition(participant, State.BASELINE_COMPLETE, ctx)
    url = f"/randomisation/{participant.trial_id}/"
    assert "Randomise now" in client.get(url).content.decode()
    assert client.post(url, {}).status_code == 400  # no confirmation, nothing allocated
    assert Allocation.objects.count() == 0
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "is randomised to IMR + treatment as usual" in response.content.decode()
    assert Allocation.objects.get().arm == "IMR"


def test_randomising_an_ineligible_person_on_the_web_names_the_problem(ctx):
    install_rows(ctx, 2)
    coordinator = user("signe", "coordinator", "BAL")
    participant = screen(ctx, E4=True).participant
    response = _client(coordinator).post(f"/randomisation/{participant.trial_id}/", {"confirm": "on"})
    assert response.status_code == 400
    assert (
        f"{participant.trial_id} is ineligible: only a participant who is eligible"
        in response.content.decode()
    )
    assert Allocation.objects.count() == 0


def test_emergency_unblinding_needs_approval_with_the_password(ctx):
    install_rows(ctx, 2)
    coordinator = user("signe", "coordinator", "BAL")
    investigator = user("lene", "investigator", unblinded=False)
    participant = enrol(ctx)
    from trialdesk.apps.randomisation.services import randomise

    randomise(participant, ctx)
    requester = _client(coordinator)
    url = f"/randomisation/unblinding/new/{participant.trial_id}/"
    assert (
        "a reason for the emergency unblinding is required"
        in requester.post(url, {"reason": ""}).content.decode()
    )
    response = requester.post(url, {"reason": "acute admission, drug interaction question"})
    request_id = UnblindingRequest.objects.get().pk
    assert response["Location"] == f"/randomisation/unblinding/{request_id}/"
    assert mail.outbox[-1].to == ["lene@example.org"]
    assert "IMR" not in mail.outbox[-1].body
    assert "TAU" not in mail.outbox[-1].body
    approver = _client(investigator)
    detail = f"/randomisation/unblinding/{request_id}/"
    wrong = approver.post(detail, {"decision": "approve", "password": "wrong", "note": ""})
    assert wrong.status_code == 400
    assert "password is not correct" in wrong.content.decode()
    assert UnblindingRequest.objects.get().state == "pending"
    assert (
        approver.post(detail, {"decision": "approve", "password": TEST_PASSWORD, "note": ""}).status_code
        == 302
    )
    assert UnblindingRequest.objects.get().state == "approved"
    assert (
        "IMR + treatment as usual" not in approver.get(detail).content.decode()
    )  # only the requester sees it
    shown = requester.get(detail).content.decode()
    assert re.search(r"randomised to <strong>IMR \+ treatment as usual</strong>", shown)
    actions = list(LedgerEntry.objects.filter(entity="unblinding-request").values_list("action", flat=True))
    assert actions == [
        "unblinding-requested",
        "unblinding-password-failed",
        "unblinding-approved",
        "unblinding-revealed",
    ]


def test_statistician_uploads_and_generates_lists_without_seeing_arms(ctx):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from enrolment_support import list_text
    from trialdesk.apps.randomisation.models import AllocationList, AllocationSlot

    statistician = _client(user("soren", "statistician"))
    bad = SimpleUploadedFile("list.csv", list_text(2).replace(",arm\n", ",group\n", 1).encode())
    response = statistician.post("/randomisation/lists/", {"upload": "1", "upload-file": bad})
    assert response.status_code == 400
    assert "wrong columns" in response.content.decode()
    assert (AllocationList.objects.count(), AllocationSlot.objects.count()) == (0, 0)
    good = SimpleUploadedFile("list.csv", list_text(2).encode())
    assert statistician.post("/randomisation/lists/", {"upload": "1", "upload-file": good}).status_code == 302
    generate = {"generate-seed": "2011", "generate-per_stratum": "8"}
    response = statistician.post("/randomisation/lists/", generate)
    assert response.status_code == 302
    page = statistician.get("/randomisation/lists/").content.decode()
    assert "site=FRB|diagnosis=bipolar" in page
    assert "Treatment as usual" not in page
    assert not re.search(r"\b(IMR|TAU)\b", page)
    assert AllocationList.objects.filter(active=True).get().source == "uploaded"
    assert _client(user("signe", "coordinator", "BAL")).get("/randomisation/lists/").status_code == 403


def test_personal_data_correction_needs_a_reason_and_is_audited_without_values(ctx):
    coordinator = user("signe", "coordinator", "BAL", personal_data=True)
    participant = screen(ctx).participant
    client = _client(coordinator)
    url = f"/participants/{participant.trial_id}/personal/correct/"
    assert "Test Person" in client.get(url).content.decode()
    refused = client.post(url, {"cpr": "3102801234", "name": "Ny Navn", "contact": "", "reason": "typo"})
    assert refused.status_code == 400
    assert "CPR number does not start with a real birth date" in refused.content.decode()
    assert (
        client.post(
            url, {"cpr": "010180-3999", "name": "Ny Navn", "contact": "", "reason": "typo"}
        ).status_code
        == 302
    )
    assert "Ny Navn" in client.get(f"/participants/{participant.trial_id}/personal/").content.decode()
    entry = LedgerEntry.objects.get(entity="personal-data", action="update")
    assert entry.reason == "typo"
    assert "Ny Navn" not in entry.new_value + entry.old_value
    plain = _client(user("mads", "coordinator", "BAL"))  # no personal-data permission
    assert plain.get(url).status_code == 403
