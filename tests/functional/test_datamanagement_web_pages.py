"""The data-management pages through the web client: audit review and its CSV, queries, the casebook
(SDV and signatures) and locks. Each checks allowed(); refusals show at the field and store nothing."""

import csv
import io

import pytest

from assessments_html import text
from datamanagement_support import BASELINE_FORM, BASELINE_ON, correct, install, staff, with_baseline_form
from enrolment_support import TEST_PASSWORD, user
from trialdesk.apps.datamanagement.models import (
    CasebookSignature,
    Lock,
    Query,
    SourceVerification,
    UnlockRequest,
)
from trialdesk.apps.ledger.models import LedgerEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def people(ctx):
    return staff()


@pytest.fixture
def participant(ctx):
    return with_baseline_form(ctx)


def test_audit_page_filters_pages_and_downloads_the_same_rows(client, ctx, people, participant):
    correct(
        participant,
        "baseline",
        "baseline",
        {**BASELINE_FORM, "age": 36},
        ctx,
        on=BASELINE_ON,
        reason="age mistyped",
    )
    client.force_login(people["dm"])
    page = client.get("/data/audit/", {"participant": participant.trial_id, "field": "item age"})
    assert page.status_code == 200
    body = text(page.content.decode())
    assert "1 entry." in body and "34 → 36" in body and "age mistyped" in body and "signe" in body
    download = client.get("/data/audit.csv", {"participant": participant.trial_id, "field": "item age"})
    assert download["Content-Type"].startswith("text/csv") and download.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [(r["old_value"], r["new_value"], r["reason"]) for r in rows] == [("34", "36", "age mistyped")]
    everything = client.get("/data/audit/")
    assert "page 1 of" in text(everything.content.decode())
    bad = client.get("/data/audit/", {"since": "soon"})
    assert bad.status_code == 400
    assert 'role="alert">&#x27;soon&#x27; is not a date; write it as YYYY-MM-DD' in bad.content.decode()
    assert client.get("/data/audit.csv", {"until": "never"}).status_code == 400


def test_audit_pages_refuse_roles_without_view_audit(client, people):
    client.force_login(people["coord_bal"])
    assert client.get("/data/audit/").status_code == 403
    assert client.get("/data/audit.csv").status_code == 403


def test_queries_raised_answered_and_scoped_through_the_pages(client, people, participant):
    client.force_login(people["dm"])
    url = f"/data/p/{participant.trial_id}/query/"
    refused = client.post(url, {"visit": "baseline", "instrument": "baseline", "field": "age", "text": " "})
    assert (
        refused.status_code == 400
        and 'role="alert">say what the site should check' in refused.content.decode()
    )
    assert not Query.objects.exists()
    made = client.post(
        url,
        {
            "visit": "baseline",
            "instrument": "baseline",
            "field": "age",
            "text": "Age differs from the CPR date of birth",
        },
    )
    query = Query.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/data/queries/{query.pk}/"
    client.force_login(people["coord_frb"])
    assert client.get(f"/data/queries/{query.pk}/").status_code == 404
    assert participant.trial_id not in client.get("/data/queries/").content.decode()
    client.force_login(people["coord_bal"])
    assert participant.trial_id in client.get("/data/queries/").content.decode()
    empty = client.post(f"/data/queries/{query.pk}/", {"action": "answer", "text": ""})
    assert empty.status_code == 400 and 'role="alert">an answer is required' in empty.content.decode()
    client.post(f"/data/queries/{query.pk}/", {"action": "answer", "text": "Checked: 34 is right"})
    client.force_login(people["dm"])
    client.post(f"/data/queries/{query.pk}/", {"action": "close", "text": ""})
    client.post(f"/data/queries/{query.pk}/", {"action": "reopen", "text": "Please attach the source"})
    page = text(client.get(f"/data/queries/{query.pk}/").content.decode())
    assert "Status open" in page
    for line in ("raised by dana", "answered by cora", "closed by dana", "re-opened by dana"):
        assert line in page
    summary = text(client.get("/data/queries/").content.decode())
    assert "BAL 1 0 0" in summary


def test_casebook_verification_and_signature_show_later_changes(client, ctx, people, participant):
    client.force_login(people["monitor"])
    form_id = participant.assessments.get(instrument="baseline").pk
    assert client.post(f"/data/p/{participant.trial_id}/verify/{form_id}/").status_code == 302
    assert "verified (mona" in text(client.get(f"/data/p/{participant.trial_id}/").content.decode())
    client.force_login(people["investigator"])
    wrong = client.post(f"/data/p/{participant.trial_id}/sign/", {"password": "nope"})
    assert wrong.status_code == 400
    assert 'role="alert">the password is not correct; the casebook was not signed' in wrong.content.decode()
    assert not CasebookSignature.objects.exists()
    assert LedgerEntry.objects.filter(action="sign-password-failed").count() == 1
    client.post(f"/data/p/{participant.trial_id}/sign/", {"password": TEST_PASSWORD})
    page = text(client.get(f"/data/p/{participant.trial_id}/").content.decode())
    assert "Signed by Ivan Investigator" in page and "I approve these data" in page and "valid" in page
    correct(participant, "baseline", "baseline", {**BASELINE_FORM, "age": 36}, ctx, on=BASELINE_ON)
    page = text(client.get(f"/data/p/{participant.trial_id}/").content.decode())
    assert "invalidated: the casebook changed after signing" in page
    assert "changed since verification" in page
    assert SourceVerification.objects.count() == 1


def test_casebook_refuses_roles_without_a_data_management_action(client, people, participant):
    client.force_login(user("anna", "assessor", "BAL"))
    assert client.get("/data/").status_code == 403
    assert client.get(f"/data/p/{participant.trial_id}/").status_code == 404
    client.force_login(people["dm"])
    assert (
        client.post(f"/data/p/{participant.trial_id}/sign/", {"password": TEST_PASSWORD}).status_code == 400
    )
    assert not CasebookSignature.objects.exists()


def test_locks_page_locks_and_unlocks_with_a_second_person(client, people, participant):
    client.force_login(people["dm"])
    missing = client.post(
        "/data/locks/", {"scope": "participant", "participant": participant.trial_id, "reason": ""}
    )
    assert (
        missing.status_code == 400
        and 'role="alert">a reason is required to lock data' in missing.content.decode()
    )
    unknown = client.post("/data/locks/", {"scope": "participant", "participant": "XXX-9", "reason": "r"})
    assert unknown.status_code == 400 and "no participant &#x27;XXX-9&#x27;" in unknown.content.decode()
    assert not Lock.objects.exists()
    client.post(
        "/data/locks/", {"scope": "participant", "participant": participant.trial_id, "reason": "clean"}
    )
    lock = Lock.objects.get()
    client.post(f"/data/locks/{lock.pk}/unlock/", {"reason": "a late correction"})
    request = UnlockRequest.objects.get()
    own = client.post(
        f"/data/unlock-requests/{request.pk}/", {"decision": "approve", "password": TEST_PASSWORD}
    )
    assert own.status_code == 400 and "a second person must approve an unlock" in text(own.content.decode())
    client.force_login(people["dm2"])
    wrong = client.post(f"/data/unlock-requests/{request.pk}/", {"decision": "approve", "password": "x"})
    assert wrong.status_code == 400 and 'role="alert">the password is not correct' in wrong.content.decode()
    assert Lock.objects.get().active
    client.post(f"/data/unlock-requests/{request.pk}/", {"decision": "approve", "password": TEST_PASSWORD})
    assert not Lock.objects.get().active
    client.force_login(people["monitor"])
    assert client.get("/data/locks/").status_code == 403


def test_database_lock_from_the_page_takes_a_snapshot(client, people, participant):
    client.force_login(people["dm"])
    response = client.post("/data/locks/", {"scope": "database", "reason": "final lock"}, follow=True)
    lock = Lock.objects.get()
    assert lock.snapshot_id and f"Snapshot {lock.snapshot_id} taken." in text(response.content.decode())
