"""The visit schedule: anchored on the first baseline form, windows from the protocol, states over time,
booking, missed visits, out-of-window deviations, baseline completion and the consent checks."""

import datetime as dt

import pytest

from assessments_support import BASELINE_ON, baseline_done, complete, complete_visit, consented
from enrolment_support import install, screen
from trialdesk import clock
from trialdesk.apps.assessments import queries, services
from trialdesk.apps.assessments.models import Assessment, ProtocolDeviation, Visit
from trialdesk.apps.consent.services import record_withdrawal
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.status import State
from trialdesk.errors import UserError
from trialdesk.visits import VisitState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


def on(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(12)))


def _state(participant, code, today):
    visit = Visit.objects.prefetch_related("assessments").get(participant=participant, code=code)
    return services.visit_progress(visit, today).state


def test_the_first_baseline_form_dates_the_schedule(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    windows = {v.code: (v.target, v.opens, v.closes) for v in Visit.objects.filter(participant=participant)}
    # Worked by hand: 10 March 2011 + 9 and + 21 calendar months, +-1 month.
    assert windows == {
        "baseline": (BASELINE_ON, BASELINE_ON, BASELINE_ON),
        "m9": (dt.date(2011, 12, 10), dt.date(2011, 11, 10), dt.date(2012, 1, 10)),
        "m21": (dt.date(2012, 12, 10), dt.date(2012, 11, 10), dt.date(2013, 1, 10)),
    }
    assert (
        LedgerEntry.objects.filter(entity="visit", field="target", participant=participant.trial_id).count()
        == 3
    )


def test_a_month_end_baseline_lands_on_leap_day(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, dt.date(2011, 5, 31))
    m9 = Visit.objects.get(participant=participant, code="m9")
    m21 = Visit.objects.get(participant=participant, code="m21")
    assert (m9.target, m9.opens, m9.closes) == (
        dt.date(2012, 2, 29),
        dt.date(2012, 1, 29),
        dt.date(2012, 3, 29),
    )
    assert (m21.target, m21.opens, m21.closes) == (
        dt.date(2013, 2, 28),
        dt.date(2013, 1, 28),
        dt.date(2013, 3, 28),
    )


def test_states_move_with_the_calendar(ctx):
    participant = baseline_done(ctx)
    assert _state(participant, "m9", dt.date(2011, 11, 9)) is VisitState.UPCOMING
    assert _state(participant, "m9", dt.date(2011, 11, 10)) is VisitState.OPEN
    assert _state(participant, "m9", dt.date(2012, 1, 10)) is VisitState.OPEN
    assert _state(participant, "m9", dt.date(2012, 1, 11)) is VisitState.OVERDUE
    # The baseline itself is done, never overdue.
    assert _state(participant, "baseline", dt.date(2015, 1, 1)) is VisitState.DONE


def test_baseline_complete_when_every_baseline_form_is_resolved(ctx):
    participant = consented(ctx)
    instruments = [
        "gaf_f", "gaf_s", "psp", "panss", "hamd17", "ymrs", "audit", "dudit", "mhrm", "ashs", "imrs_client",
        "imrs_clinician",
    ]  # fmt: skip
    for code in instruments:
        complete(participant, "baseline", code, ctx, BASELINE_ON)
    participant.refresh_from_db()
    assert participant.state is State.CONSENTED  # the baseline characteristics form is still open
    services.mark_not_done(participant, "baseline", "baseline", "participant left early", ctx)
    participant.refresh_from_db()
    assert participant.state is State.BASELINE_COMPLETE
    assert Visit.objects.get(participant=participant, code="baseline").done_on == BASELINE_ON


def test_a_visit_done_out_of_window_is_a_deviation(ctx):
    participant = baseline_done(ctx)
    late = dt.date(2012, 1, 20)
    complete_visit(participant, "m9", ctx, late)
    visit = Visit.objects.get(participant=participant, code="m9")
    assert visit.done_on == late
    assert _state(participant, "m9", dt.date(2012, 2, 1)) is VisitState.DONE_OUT_OF_WINDOW
    deviation = ProtocolDeviation.objects.get(visit=visit)
    assert deviation.kind == "visit_out_of_window"
    assert deviation.occurred_on == late
    assert "2011-11-10 to 2012-01-10" in deviation.detail
    assert (
        LedgerEntry.objects.filter(entity="protocol-deviation", participant=participant.trial_id).count() == 1
    )


def test_a_visit_inside_its_window_is_done_without_deviation(ctx):
    participant = baseline_done(ctx)
    complete_visit(participant, "m9", ctx, dt.date(2011, 12, 1))
    assert _state(participant, "m9", dt.date(2012, 6, 1)) is VisitState.DONE
    assert not ProtocolDeviation.objects.exists()


def test_worklist_lists_open_and_overdue_visits_soonest_closing_first(ctx):
    from enrolment_support import user

    assessor = user("anna", "assessor", "BAL")
    early = baseline_done(ctx, on=dt.date(2011, 3, 10))
    late = baseline_done(ctx, on=dt.date(2011, 4, 20))
    overdue = baseline_done(ctx, on=dt.date(2011, 2, 1) + dt.timedelta(days=30))
    waiting = consented(ctx)
    elsewhere = baseline_done(ctx, "FRB")
    complete(early, "m9", "gaf_f", ctx, dt.date(2011, 12, 1))
    rows = queries.worklist(assessor, dt.date(2012, 1, 5))
    listed = [(p.trial_id, row.visit.code, row.progress.state) for p, row in rows]
    # Windows close: overdue 2012-01-03, early 2012-01-10, late 2012-02-20; the undated baseline is due now.
    assert listed == [
        (overdue.trial_id, "m9", VisitState.OVERDUE),
        (waiting.trial_id, "baseline", VisitState.OPEN),
        (early.trial_id, "m9", VisitState.OPEN),
        (late.trial_id, "m9", VisitState.OPEN),
    ]
    assert elsewhere.trial_id not in {p.trial_id for p, _ in rows}
    early_row = rows[2][1]
    assert "GAF-F" not in early_row.missing_labels
    assert "PANSS" in early_row.missing_labels


def test_worklist_skips_participants_withdrawn_from_data_collection(ctx):
    from enrolment_support import user

    assessor = user("anna", "assessor", "BAL")
    participant = baseline_done(ctx)
    record_withdrawal(participant, withdrawn_on=dt.date(2011, 6, 1), scope="data_collection", context=ctx)
    assert queries.worklist(assessor, dt.date(2011, 12, 1)) == []
    with pytest.raises(UserError, match="withdrew"):
        complete(participant, "m9", "gaf_f", ctx, dt.date(2011, 12, 1))
    assert not Assessment.objects.filter(visit__code="m9").exists()


def test_booking_is_ledgered_and_cannot_precede_the_baseline(ctx):
    participant = baseline_done(ctx)
    services.book_visit(participant, "m9", dt.date(2011, 12, 5), ctx)
    entry = LedgerEntry.objects.get(entity="visit", field="booked_on")
    assert entry.new_value == '"2011-12-05"'
    assert entry.old_value == ""
    with pytest.raises(InputError) as refused:
        services.book_visit(participant, "m21", dt.date(2011, 3, 1), ctx)
    assert "before the baseline date 2011-03-10" in refused.value.fields["booked_on"]
    assert Visit.objects.get(participant=participant, code="m21").booked_on is None


def test_a_missed_visit_needs_a_reason_and_takes_no_forms(ctx):
    participant = baseline_done(ctx)
    with pytest.raises(InputError, match="reason is required"):
        services.mark_missed(participant, "m9", "  ", ctx)
    services.mark_missed(participant, "m9", "could not be reached", ctx)
    assert _state(participant, "m9", dt.date(2012, 6, 1)) is VisitState.MISSED
    with pytest.raises(UserError, match="marked missed"):
        complete(participant, "m9", "gaf_f", ctx, dt.date(2011, 12, 1))


def test_a_visit_with_complete_forms_cannot_be_marked_missed(ctx):
    participant = baseline_done(ctx)
    complete(participant, "m9", "gaf_f", ctx, dt.date(2011, 12, 1))
    with pytest.raises(UserError, match="record the remaining ones as not done"):
        services.mark_missed(participant, "m9", "moved away", ctx)


def test_the_baseline_date_moves_with_a_reason_until_follow_up_data_exist(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, dt.date(2011, 3, 20))
    with pytest.raises(InputError) as refused:
        services.change_baseline_date(participant, dt.date(2011, 3, 15), ctx, reason="")
    assert "reason is required" in refused.value.fields["reason"]
    with pytest.raises(InputError) as refused:
        services.change_baseline_date(participant, dt.date(2011, 3, 25), ctx, reason="typo")
    assert "after a baseline form dated 2011-03-20" in refused.value.fields["baseline_date"]
    services.change_baseline_date(
        participant, dt.date(2011, 3, 15), ctx, reason="interview began on the 15th"
    )
    assert Visit.objects.get(participant=participant, code="m9").target == dt.date(2011, 12, 15)
    complete(participant, "baseline", "panss", ctx, dt.date(2011, 3, 20))
    complete(participant, "m9", "gaf_f", ctx, dt.date(2011, 12, 15))
    with pytest.raises(InputError, match="once a later visit has forms"):
        services.change_baseline_date(participant, dt.date(2011, 3, 14), ctx, reason="late correction")


def test_no_schedule_before_consent(ctx):
    participant = screen(ctx).participant
    with pytest.raises(UserError, match="only for consented participants"):
        complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    assert not Visit.objects.exists()
    assert not Assessment.objects.exists()
