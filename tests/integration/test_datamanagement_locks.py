"""Locks: a form, a participant, a visit across participants and the whole database become read-only for
every service (and, through the ledger guard, for writes that do not check); unlocking needs a reason and
a second person's approval with the password re-entered; locking the database takes a snapshot."""

import datetime as dt

import pytest

from assessments_support import complete, consented
from datamanagement_support import BASELINE_FORM, BASELINE_ON, correct, install, staff, with_baseline_form
from enrolment_support import TEST_PASSWORD
from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.datamanagement import locks, queries
from trialdesk.apps.datamanagement.models import Lock, UnlockRequest
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.services import transition
from trialdesk.apps.participants.status import State
from trialdesk.apps.snapshots.models import Snapshot
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def people(ctx):
    return staff()


def _age(participant) -> int:
    return Assessment.objects.get(participant=participant, instrument="baseline").values()["age"]


def _refused_unchanged(action, participant):
    before = _age(participant), LedgerEntry.objects.count()
    with pytest.raises(UserError, match=r"^locked: "):
        action()
    assert (_age(participant), LedgerEntry.objects.count()) == before


def test_a_locked_form_is_read_only_and_the_rest_is_not(ctx, people):
    participant = with_baseline_form(ctx)
    locks.lock(
        "form",
        ctx,
        user=people["dm"],
        reason="verified and clean",
        participant=participant,
        visit_code="baseline",
        instrument="baseline",
    )
    _refused_unchanged(
        lambda: correct(
            participant, "baseline", "baseline", {**BASELINE_FORM, "age": 40}, ctx, on=BASELINE_ON
        ),
        participant,
    )
    _refused_unchanged(
        lambda: assessments.mark_not_done(participant, "baseline", "baseline", "lost", ctx), participant
    )
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)  # another form of the same visit


def test_a_locked_participant_refuses_every_write_even_one_that_does_not_check(ctx, people):
    participant = with_baseline_form(ctx)
    other = with_baseline_form(ctx)
    locks.lock("participant", ctx, user=people["dm"], reason="casebook signed", participant=participant)
    _refused_unchanged(lambda: complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON), participant)
    _refused_unchanged(
        lambda: assessments.book_visit(participant, "m9", dt.date(2011, 12, 1), ctx), participant
    )
    # The status pipeline has no lock check of its own: the ledger guard refuses its entry, and so the write.
    _refused_unchanged(
        lambda: transition(participant, State.WITHDRAWN, ctx, reason="moved away"), participant
    )
    participant.refresh_from_db()
    assert participant.status == State.CONSENTED.value
    complete(other, "baseline", "gaf_f", ctx, BASELINE_ON)


def test_a_visit_lock_covers_every_participant_at_that_visit_only(ctx, people):
    first, second = consented(ctx), consented(ctx)
    for participant in (first, second):
        complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    locks.lock("visit", ctx, user=people["dm"], reason="interim analysis", visit_code="m9")
    for participant in (first, second):
        with pytest.raises(UserError, match=r"^locked: visit m9 of every participant"):
            complete(participant, "m9", "gaf_f", ctx, dt.date(2011, 12, 10))
        complete(participant, "baseline", "gaf_s", ctx, BASELINE_ON)
    assert not Assessment.objects.filter(visit__code="m9").exists()


def test_locking_the_database_takes_a_snapshot_and_leaves_queries_open(ctx, people):
    participant = with_baseline_form(ctx)
    made = locks.lock("database", ctx, user=people["dm"], reason="final database lock")
    snapshot = Snapshot.objects.get()
    assert made.snapshot_id == snapshot.id == Lock.objects.get().snapshot_id
    assert snapshot.label == f"database lock {made.pk}"
    _refused_unchanged(lambda: complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON), participant)
    with pytest.raises(UserError, match=r"^locked: the whole database"):
        consented(ctx)
    queries.raise_query(participant, ctx, user=people["dm"], text="a question after the lock")
    assert verify_ledger().ok


def test_a_failed_snapshot_leaves_the_database_unlocked(ctx, people, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    settings.DATA_DIR = blocker
    before = LedgerEntry.objects.count()
    with pytest.raises(UserError, match=r"^the database was not locked: its snapshot could not be written"):
        locks.lock("database", ctx, user=people["dm"], reason="final database lock")
    assert not Lock.objects.exists() and not Snapshot.objects.exists()
    assert LedgerEntry.objects.count() == before
    with_baseline_form(ctx)  # still writable


def test_lock_refusals_name_their_field_and_store_nothing(ctx, people):
    participant = with_baseline_form(ctx)
    cases = [
        ({"scope": "participant", "participant": participant, "reason": " "}, "reason"),
        ({"scope": "visit", "visit_code": "m99", "reason": "r"}, "visit"),
        (
            {
                "scope": "form",
                "participant": participant,
                "visit_code": "m9",
                "instrument": "panss",
                "reason": "r",
            },
            "instrument",
        ),
        ({"scope": "region", "reason": "r"}, "scope"),
    ]
    for kwargs, field in cases:
        scope = kwargs.pop("scope")
        with pytest.raises(InputError) as refused:
            locks.lock(scope, ctx, user=people["dm"], **kwargs)
        assert set(refused.value.fields) == {field}
    with pytest.raises(UserError, match="lock-data"):
        locks.lock("database", ctx, user=people["monitor"], reason="monitor may not")
    assert not Lock.objects.exists()


def test_unlocking_needs_a_reason_and_a_second_person_with_their_password(ctx, people):
    participant = with_baseline_form(ctx)
    dm, dm2, investigator = people["dm"], people["dm2"], people["investigator"]
    lock = locks.lock("participant", ctx, user=dm, reason="clean", participant=participant)
    with pytest.raises(InputError) as refused:
        locks.request_unlock(lock, ctx, user=dm, reason="")
    assert set(refused.value.fields) == {"reason"}
    request = locks.request_unlock(lock, ctx, user=dm, reason="site found a transcription error")
    # Asking is not unlocking: the data stay locked until a second person approves.
    _refused_unchanged(
        lambda: correct(
            participant, "baseline", "baseline", {**BASELINE_FORM, "age": 40}, ctx, on=BASELINE_ON
        ),
        participant,
    )
    with pytest.raises(UserError, match="a second person must approve"):
        locks.decide_unlock(request, ctx, user=dm, password=TEST_PASSWORD, approve=True)
    with pytest.raises(UserError, match="approve-unlock"):
        locks.decide_unlock(request, ctx, user=people["monitor"], password=TEST_PASSWORD, approve=True)
    failed_before = LedgerEntry.objects.filter(action="approve-password-failed").count()
    with pytest.raises(UserError, match=r"^password: the password is not correct"):
        locks.decide_unlock(request, ctx, user=dm2, password="not it", approve=True)
    assert LedgerEntry.objects.filter(action="approve-password-failed").count() == failed_before + 1
    assert Lock.objects.get(pk=lock.pk).active and UnlockRequest.objects.get(pk=request.pk).state == "pending"
    decided = locks.decide_unlock(request, ctx, user=investigator, password=TEST_PASSWORD, approve=True)
    assert decided.state == "approved" and decided.decided_by == investigator
    assert not Lock.objects.get(pk=lock.pk).active
    correct(participant, "baseline", "baseline", {**BASELINE_FORM, "age": 40}, ctx, on=BASELINE_ON)
    assert _age(participant) == 40
    with pytest.raises(UserError, match="already approved"):
        locks.decide_unlock(request, ctx, user=dm2, password=TEST_PASSWORD, approve=True)


def test_a_refused_unlock_keeps_the_lock_and_needs_a_note(ctx, people):
    participant = with_baseline_form(ctx)
    lock = locks.lock("participant", ctx, user=people["dm"], reason="clean", participant=participant)
    request = locks.request_unlock(lock, ctx, user=people["dm"], reason="please")
    with pytest.raises(InputError) as refused:
        locks.decide_unlock(request, ctx, user=people["dm2"], password=TEST_PASSWORD, approve=False)
    assert set(refused.value.fields) == {"note"}
    locks.decide_unlock(
        request, ctx, user=people["dm2"], password=TEST_PASSWORD, approve=False, note="no source document"
    )
    assert Lock.objects.get(pk=lock.pk).active
    assert UnlockRequest.objects.get(pk=request.pk).state == "refused"


def test_only_one_active_lock_per_scope(ctx, people):
    locks.lock("visit", ctx, user=people["dm"], reason="interim", visit_code="m9")
    with pytest.raises(UserError, match="already locked"):
        locks.lock("visit", ctx, user=people["dm2"], reason="again", visit_code="m9")
