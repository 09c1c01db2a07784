"""randomise(): next slot of the stratum, idempotent, refuses the unready, alerts on exhaustion, atomic."""

import re

import pytest
from django.core import mail

from enrolment_support import TEST_KEY, enrol, install, install_rows, list_text, screen, user
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import StatusEvent
from trialdesk.apps.participants.status import State
from trialdesk.apps.randomisation import services as randomisation_services
from trialdesk.apps.randomisation.lists import generate, upload
from trialdesk.apps.randomisation.models import Allocation, AllocationList, AllocationSlot
from trialdesk.apps.randomisation.services import randomise
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


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
    assert (other.stratum, other.slot.sequence, other.arm) == ("site=FRB|diagnosis=bipolar", 1, "IMR")
    assert [
        a.slot.sequence
        for a in Allocation.objects.filter(stratum="site=BAL|diagnosis=schizophrenia").order_by("pk")
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
    assert '"stratum": "site=BAL|diagnosis=schizophrenia"' in entry.new_value
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
    install_rows(ctx, 2)
    randomise(enrol(ctx), ctx)
    randomise(enrol(ctx), ctx)
    late = enrol(ctx)
    counts = _counts()
    with pytest.raises(
        UserError,
        match=re.escape(
            "no unused slot left in stratum site=BAL|diagnosis=schizophrenia: nobody was randomised"
        ),
    ):
        randomise(late, ctx)
    late.refresh_from_db()
    assert late.state is State.BASELINE_COMPLETE
    assert _counts()[:3] == counts[:3]
    assert LedgerEntry.objects.filter(action="stratum-exhausted").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["soren@example.org"]
    assert "site=BAL|diagnosis=schizophrenia" in mail.outbox[0].subject
    assert "IMR" not in mail.outbox[0].body
    assert "TAU" not in mail.outbox[0].body


@pytest.mark.parametrize("where", ["transition", "append_many"])
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


def _list_counts():
    return AllocationList.objects.count(), AllocationSlot.objects.count(), LedgerEntry.objects.count()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("stratum,sequence,block,block_size,arm", "stratum,seq,block,block_size,arm",
         "uploaded list row 1: wrong columns ['stratum', 'seq', 'block', 'block_size', 'arm']: "
         "missing ['sequence']"),
        ("diagnosis=bipolar,2,1,2,TAU", "diagnosis=bipolar,2,1,2,PLACEBO",
         "unknown arm 'PLACEBO' (known: IMR, TAU)"),
        ("site=FRB|diagnosis=bipolar,1,", "site=XYZ|diagnosis=bipolar,1,",
         "unknown level 'XYZ' of factor 'site'"),
        ("diagnosis=bipolar,2,1,2,TAU", "diagnosis=bipolar,2,1,2,IMR", "is unbalanced"),
    ],
)  # fmt: skip
def test_bad_list_files_are_refused_naming_the_problem_and_store_nothing(ctx, old, new, message):
    text = list_text(2)
    assert old in text
    before = _list_counts()
    with pytest.raises(UserError, match=re.escape(message)):
        upload(text.replace(old, new, 1), context=ctx)
    assert _list_counts() == before


def test_a_generated_list_records_seed_version_and_hash(ctx):
    stored = generate(seed=2011, per_stratum=6, context=ctx)
    assert stored.seed == 2011
    assert stored.algorithm_version == "stratified_permuted_blocks/1"
    assert stored.active
    assert AllocationSlot.objects.filter(allocation_list=stored).count() >= 24
    with pytest.raises(UserError, match="already installed"):
        generate(seed=2011, per_stratum=6, context=ctx)
    entry = LedgerEntry.objects.get(action="install", entity="allocation-list")
    assert entry.entity_id == stored.list_hash
    assert '"seed": 2011' in entry.new_value
    assert "TAU" not in entry.new_value  # counts per stratum, never the arms
