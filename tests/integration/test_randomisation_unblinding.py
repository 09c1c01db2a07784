"""Emergency unblinding: who may ask, who may approve, and to whom the arm is shown."""

import pytest
from django.core import mail

from enrolment_support import TEST_PASSWORD, enrol, install, install_rows, user
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.randomisation.models import UnblindingRequest
from trialdesk.apps.randomisation.services import randomise
from trialdesk.apps.randomisation.unblinding import decide, request_unblinding, reveal
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def world():
    ctx = install()
    install_rows(ctx, 2)
    participant = enrol(ctx)
    randomise(participant, ctx)
    return ctx, participant, user("signe", "coordinator", "BAL"), user("lene", "investigator")


def test_an_assessor_cannot_ask(world):
    ctx, participant, _, _ = world
    with pytest.raises(UserError, match="may not request unblinding"):
        request_unblinding(participant, user("anna", "assessor", "BAL"), "curious", ctx)
    assert UnblindingRequest.objects.count() == 0


def test_a_coordinator_cannot_approve_and_the_arm_waits_for_approval(world):
    ctx, participant, coordinator, _ = world
    made = request_unblinding(participant, coordinator, "acute admission", ctx)
    with pytest.raises(UserError, match="may not decide"):
        decide(made, coordinator, TEST_PASSWORD, approve=True, note="", context=ctx)
    with pytest.raises(UserError, match="shown only to the requester, after approval"):
        reveal(made, coordinator, ctx)


def test_refusal_needs_a_note_and_a_decided_request_stays_decided(world):
    ctx, participant, coordinator, investigator = world
    made = request_unblinding(participant, coordinator, "acute admission", ctx)
    with pytest.raises(InputError, match="say why"):
        decide(made, investigator, TEST_PASSWORD, approve=False, note="", context=ctx)
    decide(made, investigator, TEST_PASSWORD, approve=False, note="not an emergency", context=ctx)
    with pytest.raises(UserError, match="already refused"):
        decide(made, investigator, TEST_PASSWORD, approve=True, note="", context=ctx)
    made.refresh_from_db()
    with pytest.raises(UserError, match="after approval"):
        reveal(made, coordinator, ctx)
    assert [m.subject for m in mail.outbox] == [
        f"[trialdesk] emergency unblinding requested for {participant.trial_id}",
        f"[trialdesk] emergency unblinding refused for {participant.trial_id}",
    ]


def test_approved_request_reveals_to_the_requester_and_records_it(world):
    ctx, participant, coordinator, investigator = world
    made = decide(request_unblinding(participant, coordinator, "acute admission", ctx), investigator,
                  TEST_PASSWORD, approve=True, note="", context=ctx)  # fmt: skip
    assert reveal(made, coordinator, ctx).arm == "IMR"
    with pytest.raises(UserError, match="only to the requester"):
        reveal(made, investigator, ctx)
    entries = LedgerEntry.objects.filter(entity="unblinding-request")
    assert [e.action for e in entries] == [
        "unblinding-requested",
        "unblinding-approved",
        "unblinding-revealed",
    ]
    assert all("IMR" not in e.new_value and "TAU" not in e.new_value for e in entries)
