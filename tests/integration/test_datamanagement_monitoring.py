"""Source-data verification and casebook signatures: both hold only while the data hash as they did; a
later change clears the SDV mark and invalidates the signature; a wrong password signs nothing."""

import hashlib
import json

import pytest

from datamanagement_support import BASELINE_FORM, BASELINE_ON, correct, install, staff, with_baseline_form
from enrolment_support import TEST_PASSWORD
from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.datamanagement.content import form_hash
from trialdesk.apps.datamanagement.models import MEANING, CasebookSignature, SourceVerification
from trialdesk.apps.datamanagement.sdv import verification_state, verify_form
from trialdesk.apps.datamanagement.signatures import sign, signature_states
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def people(ctx):
    return staff()


def _form(participant, instrument="baseline"):
    return Assessment.objects.get(participant=participant, instrument=instrument)


def test_the_form_hash_is_sha256_of_its_canonical_content(ctx):
    participant = with_baseline_form(ctx)
    document = {
        "participant": participant.trial_id,
        "visit": "baseline",
        "instrument": "baseline",
        "status": "complete",
        "assessed_on": str(BASELINE_ON),
        "not_done_reason": "",
        "items": BASELINE_FORM,
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert form_hash(_form(participant)) == hashlib.sha256(text.encode()).hexdigest()


def test_a_later_change_clears_the_verification_and_a_new_mark_restores_it(ctx, people):
    participant = with_baseline_form(ctx)
    form = _form(participant)
    assert verification_state(form).label == "not verified"
    verify_form(form, ctx, user=people["monitor"])
    assert verification_state(form).verified
    assert LedgerEntry.objects.filter(entity="source-verification", action="verify").count() == 1
    correct(participant, "baseline", "baseline", {**BASELINE_FORM, "age": 35}, ctx, on=BASELINE_ON)
    state = verification_state(_form(participant))
    assert (state.verified, state.changed, state.label) == (False, True, "changed since verification")
    verify_form(_form(participant), ctx, user=people["monitor"], note="re-checked against the notes")
    assert verification_state(_form(participant)).verified
    assert SourceVerification.objects.count() == 2


def test_not_done_is_a_change_too_and_only_monitors_verify(ctx, people):
    participant = with_baseline_form(ctx)
    verify_form(_form(participant), ctx, user=people["monitor"])
    assessments.mark_not_done(participant, "baseline", "baseline", "refused the interview", ctx)
    assert verification_state(_form(participant)).changed
    with pytest.raises(UserError, match="verify-source"):
        verify_form(_form(participant), ctx, user=people["dm"])


def test_signing_stores_the_manifest_and_a_later_change_invalidates_it_visibly(ctx, people):
    participant = with_baseline_form(ctx)
    investigator = people["investigator"]
    signature = sign(participant, ctx, user=investigator, password=TEST_PASSWORD)
    assert (signature.printed_name, signature.meaning, signature.signed_by) == (
        "Ivan Investigator",
        MEANING,
        investigator,
    )
    assert signature.signed_at.utcoffset().total_seconds() == 0
    [state] = signature_states(participant)
    assert state.valid and state.label == "valid"
    entry = LedgerEntry.objects.get(entity="casebook-signature", action="sign")
    assert json.loads(entry.new_value)["meaning"] == "I approve these data"
    correct(participant, "baseline", "baseline", {**BASELINE_FORM, "sex": "male"}, ctx, on=BASELINE_ON)
    [state] = signature_states(participant)
    assert not state.valid and state.label == "invalidated: the casebook changed after signing"


def test_a_new_form_also_invalidates_the_signature(ctx, people):
    from assessments_support import complete

    participant = with_baseline_form(ctx)
    sign(participant, ctx, user=people["investigator"], password=TEST_PASSWORD)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    assert [s.valid for s in signature_states(participant)] == [False]


def test_a_wrong_password_signs_nothing_and_the_attempt_is_audited(ctx, people):
    participant = with_baseline_form(ctx)
    with pytest.raises(UserError, match=r"^password: the password is not correct"):
        sign(participant, ctx, user=people["investigator"], password="guess")
    assert not CasebookSignature.objects.exists()
    failed = LedgerEntry.objects.get(action="sign-password-failed")
    assert (failed.actor, failed.participant) == ("signe", participant.trial_id)
    assert "guess" not in failed.new_value + failed.old_value + failed.reason
    with pytest.raises(UserError, match="sign-casebook"):
        sign(participant, ctx, user=people["monitor"], password=TEST_PASSWORD)
    assert not CasebookSignature.objects.exists()
