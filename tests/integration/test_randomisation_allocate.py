"""randomise(): next slot of the stratum, idempotent, refuses the unready, alerts on exhaustion, atomic."""

import re

import pytest
from django.core import mail

from enrolment_support import TEST_KEY, enrol, install, install_rows, list_rows, screen, user
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import StatusEvent
from trialdesk.apps.participants.status import State
from trialdesk.apps.randomisation import services as randomisation_services
from trialdesk.apps.randomisation.lists import ListFacts, install_list
from trialdesk.apps.randomisation.models import Allocation, AllocationList, AllocationSlot
from trialdesk.apps.randomisation.services import randomise
from trialdesk.errors import UserError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)


@pytest.fixture
def ctx():
    return install()


def _counts():
    return (
        Allocation.objects.count(),
        AllocationSlot.objects.filter(participant__isnull=False).count(),
        StatusEvent.objects.count(),
        LedgerEntry.objects.count(),
    )


def test_slots_are_taken_in_order_within_each_stratum(ctx):
    install_rows(ctx, 4)
    bal_f20 = [enrol(ctx, "BAL", "F20.0") for _ in range(3)]
    frb_f31 = enrol(ctx, "FRB", "F31.1")
    arms = [randomise(p, ctx).arm for p in bal_f20]
    assert arms == ["IMR", "TAU", "TAU"]  # the hand-written list's first three slots
    other = randomise(frb_f31, ctx)
    assert (other.stratum, other.slot.sequence, other.arm) == ("FRB|bipolar", 1, "IMR")
    assert [
        a.slot.sequence for a in Allocation.objects.filter(stratum="BAL|schizophrenia").order_by("pk")
    ] == [1, 2, 3]
    bal_f20[0].refresh_from_db()
    assert bal_f20[0].state is State.RANDOMISED


def test_randomise_is_idempotent(ctx):
    install_rows(ctx, 4)
    participant = enrol(ctx)
    first = randomise(participant, ctx)
    counts = _counts()
    again = randomise(participant, ctx)
    assert again.pk == first.pk
    assert again.arm == first.arm
    assert _counts() == counts


def test_the_ledger_records_the_slot_never_the_arm(ctx):
    install_rows(ctx, 4)
    participant = enrol(ctx)
    randomise(participant, ctx)
    entry = LedgerEntry.objects.get(action="randomise")
    assert '"sequence": 1' in entry.new_value
    assert '"stratum": "BAL|schizophrenia"' in entry.new_value
    assert "IMR" not in entry.new_value
    assert "TAU" not in entry.new_value
    assert verify_ledger().ok


@pytest.mark.parametrize("stage", ["ineligible", "eligible", "consented"])
def test_anyone_not_ready_is_refused_and_nothing_is_stored(ctx, stage):
    from enrolment_support import SCREENED_ON
    from trialdesk.apps.consent.services import record_consent

    install_rows(ctx, 4)
    participant = screen(ctx, E4=(stage == "ineligible")).participant
    if stage == "consented":
        record_consent(
            participant,
            version="1.0",
            oral_on=SCREENED_ON,
            written_on=SCREENED_ON,
            taken_by="signe",
            context=ctx,
        )
    participant.refresh_from_db()
    counts = _counts()
    with pytest.raises(
        UserError, match=f"{participant.trial_id} is {stage}: only a participant who is eligible"
    ):
        randomise(participant, ctx)
    assert _counts() == counts


def test_no_active_list_is_a_clear_refusal(ctx):
    participant = enrol(ctx)
    with pytest.raises(UserError, match="no allocation list is active"):
        randomise(participant, ctx)
    assert Allocation.objects.count() == 0


def test_exhausted_stratum_allocates_nothing_and_alerts_the_statistician(ctx):
    user("soren", "statistician")
    install_rows(ctx, 1)
    randomise(enrol(ctx), ctx)
    late = enrol(ctx)
    counts = _counts()
    with pytest.raises(
        UserError, match=re.escape("no unused slot left in stratum BAL|schizophrenia: nobody was randomised")
    ):
        randomise(late, ctx)
    late.refresh_from_db()
    assert late.state is State.BASELINE_COMPLETE
    assert _counts()[:3] == counts[:3]
    assert LedgerEntry.objects.filter(action="stratum-exhausted").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["soren@example.org"]
    assert "BAL|schizophrenia" in mail.outbox[0].subject
    assert "IMR" not in mail.outbox[0].body
    assert "TAU" not in mail.outbox[0].body


@pytest.mark.parametrize("where", ["transition", "append"])
def test_a_failure_mid_randomise_leaves_nothing_half_written(ctx, monkeypatch, where):
    install_rows(ctx, 4)
    participant = enrol(ctx)
    counts = _counts()

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(randomisation_services, where, broken)
    with pytest.raises(RuntimeError, match="injected"):
        randomise(participant, ctx)
    assert _counts() == counts
    assert not AllocationSlot.objects.filter(participant=participant).exists()
    assert not LedgerEntry.objects.filter(
        action__in=["randomise", "transition"], participant=participant.trial_id, new_value='"randomised"'
    ).exists()
    participant.refresh_from_db()
    assert participant.state is State.BASELINE_COMPLETE
    monkeypatch.undo()
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    assert randomise(participant, ctx).slot.sequence == 1  # the slot is still first in line
    assert verify_ledger().ok


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arm": "PLACEBO"}, "row 3: unknown arm 'PLACEBO'"),
        ({"stratum": "XYZ|schizophrenia"}, "row 3: unknown stratum 'XYZ|schizophrenia'"),
        ({"sequence": 9}, "sequence numbers must run 1..2"),
    ],
)
def test_bad_list_rows_are_refused_and_nothing_stored(ctx, change, message):
    rows = list_rows(2)
    rows[2] = {**rows[2], **change}
    with pytest.raises(UserError, match=re.escape(message)):
        install_list(rows, ListFacts(source="uploaded", algorithm_version="x"), ctx)
    assert (AllocationList.objects.count(), AllocationSlot.objects.count()) == (0, 0)
