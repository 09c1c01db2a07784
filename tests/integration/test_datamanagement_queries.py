"""Queries: the lifecycle with its thread, site scope, automatic queries from the instruments' edit checks and
from cross-visit checks, and counts and ages per site."""

import datetime as dt

import pytest

from assessments_support import complete, consented, randomised
from datamanagement_support import BASELINE_FORM, BASELINE_ON, correct, install, staff, with_baseline_form
from trialdesk import clock
from trialdesk.apps.datamanagement import queries
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def people(ctx):
    return staff()


def _thread(query):
    return [(m.kind, m.author, m.text) for m in query.messages.all()]


def test_lifecycle_open_answered_closed_reopened_keeps_the_thread(ctx, people):
    participant = consented(ctx, "BAL")
    dm, coord = people["dm"], people["coord_bal"]
    query = queries.raise_query(
        participant,
        ctx,
        user=dm,
        text="Please check GAF-F against the notes",
        instrument="gaf_f",
        field="score",
    )
    assert query.status == "open" and query.origin == "manual"
    query = queries.answer(query, ctx, user=coord, text="Checked: 45 is right")
    assert query.status == "answered"
    query = queries.close(query, ctx, user=dm)
    assert query.status == "closed" and query.closed_at is not None
    query = queries.reopen(query, ctx, user=dm, text="The source says 54")
    assert query.status == "open" and query.closed_at is None
    query = queries.answer(query, ctx, user=coord, text="You are right; corrected")
    query = queries.close(query, ctx, user=dm, text="thanks")
    assert [kind for kind, _, _ in _thread(query)] == [
        "raise",
        "answer",
        "close",
        "reopen",
        "answer",
        "close",
    ]
    assert _thread(query)[3] == ("reopen", "signe", "The source says 54")
    actions = list(
        LedgerEntry.objects.filter(entity="query", entity_id=str(query.pk)).values_list("action", flat=True)
    )
    assert actions == ["raise", "answer", "close", "reopen", "answer", "close"]


def test_refusals_change_nothing(ctx, people):
    participant = consented(ctx, "BAL")
    query = queries.raise_query(participant, ctx, user=people["dm"], text="check")
    before = _thread(query), LedgerEntry.objects.count()
    with pytest.raises(InputError) as refused:
        queries.answer(query, ctx, user=people["coord_bal"], text="  ")
    assert "text" in refused.value.fields
    with pytest.raises(UserError, match="manage-queries"):
        queries.close(query, ctx, user=people["coord_bal"], text="done")
    with pytest.raises(UserError, match="manage-queries"):
        queries.raise_query(participant, ctx, user=people["coord_bal"], text="mine")
    with pytest.raises(InputError) as refused:
        queries.reopen(query, ctx, user=people["dm"], text="")
    assert (_thread(query), LedgerEntry.objects.count()) == before
    queries.answer(query, ctx, user=people["coord_bal"], text="ok")
    with pytest.raises(UserError, match="only an open query can be answered"):
        queries.answer(query, ctx, user=people["coord_bal"], text="again")


def test_site_staff_see_and_answer_only_their_own_sites_queries(ctx, people):
    at_bal = queries.raise_query(consented(ctx, "BAL"), ctx, user=people["dm"], text="BAL question")
    at_frb = queries.raise_query(consented(ctx, "FRB"), ctx, user=people["dm"], text="FRB question")
    assert set(queries.visible_queries(people["coord_bal"])) == {at_bal}
    assert set(queries.visible_queries(people["coord_frb"])) == {at_frb}
    assert set(queries.visible_queries(people["dm"])) == {at_bal, at_frb}
    with pytest.raises(UserError, match="answer-queries"):
        queries.answer(at_frb, ctx, user=people["coord_bal"], text="not mine")
    assert Query.objects.get(pk=at_frb.pk).status == "open"


def test_an_edit_check_raises_a_query_and_a_correction_closes_it(ctx):
    participant = with_baseline_form(ctx, age=17)
    raised = Query.objects.get(participant=participant)
    assert (raised.origin, raised.check_code, raised.instrument, raised.field, raised.visit.code) == (
        "automatic",
        "baseline.adult",
        "baseline",
        "age",
        "baseline",
    )
    assert "age under 18" in raised.messages.get().text and "age = 17" in raised.messages.get().text
    # Saving again with the same finding does not duplicate the query.
    correct(
        participant, "baseline", "baseline", {**BASELINE_FORM, "age": 17, "sex": "male"}, ctx, on=BASELINE_ON
    )
    assert Query.objects.filter(participant=participant).count() == 1
    correct(participant, "baseline", "baseline", {**BASELINE_FORM, "age": 19}, ctx, on=BASELINE_ON)
    raised.refresh_from_db()
    assert raised.status == "closed"
    assert _thread(raised)[-1][0] == "auto-close"


def test_a_cross_field_check_raises_a_query_on_its_item(ctx):
    participant = with_baseline_form(ctx, age=30, years_since_first_contact=31)
    raised = Query.objects.get(participant=participant)
    assert (raised.check_code, raised.field) == (
        "baseline.first_contact_within_lifetime",
        "years_since_first_contact",
    )


def test_a_visit_dated_before_the_baseline_raises_a_query(ctx):
    participant = consented(ctx, "BAL")
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)  # dates the baseline: 2011-03-10
    complete(participant, "m9", "gaf_f", ctx, BASELINE_ON + dt.timedelta(days=3))
    assert not Query.objects.filter(participant=participant).exists()
    # The baseline form's date was mistyped: corrected to a later day, the 9-month form now comes first.
    correct(participant, "baseline", "gaf_f", {"rating": 50}, ctx, on=BASELINE_ON + dt.timedelta(days=10))
    raised = Query.objects.get(participant=participant)
    assert (raised.check_code, raised.visit.code, raised.instrument, raised.field) == (
        "visit.before_baseline",
        "m9",
        "gaf_f",
        "assessed_on",
    )
    assert "2011-03-13, before the baseline visit (2011-03-20)" in raised.messages.get().text


def test_a_follow_up_form_dated_before_randomisation_raises_a_query(ctx):
    from assessments_support import allocation_list

    allocation_list(ctx)
    participant = randomised(ctx, "BAL")  # baseline 2011-03-10, randomised 2011-03-12
    complete(participant, "m9", "gaf_f", ctx, BASELINE_ON + dt.timedelta(days=1))
    raised = Query.objects.get(participant=participant, check_code="visit.before_randomisation")
    assert (raised.visit.code, raised.instrument) == ("m9", "gaf_f")


def test_counts_and_ages_per_site(ctx, people):
    dm = people["dm"]
    with clock.frozen(dt.datetime(2012, 1, 1, 9)):
        first = queries.raise_query(consented(ctx, "BAL"), ctx, user=dm, text="a")
    with clock.frozen(dt.datetime(2012, 1, 11, 9)):
        second = queries.raise_query(first.participant, ctx, user=dm, text="b")
        queries.raise_query(consented(ctx, "FRB"), ctx, user=dm, text="c")
        queries.answer(second, ctx, user=people["coord_bal"], text="done")
    with clock.frozen(dt.datetime(2012, 1, 21, 9)):
        closed = queries.raise_query(first.participant, ctx, user=dm, text="d")
        queries.close(closed, ctx, user=dm, text="raised by mistake")
    summary = {s.site: s for s in queries.site_summaries(Query.objects.all(), today=dt.date(2012, 1, 31))}
    bal, frb = summary["BAL"], summary["FRB"]
    # BAL: open 30 days old, answered 20 days old, one closed. FRB: one open, 20 days old.
    assert (bal.open, bal.answered, bal.closed, bal.oldest_open_days, bal.median_open_days) == (
        1,
        1,
        1,
        30,
        25.0,
    )
    assert (frb.open, frb.answered, frb.closed, frb.oldest_open_days, frb.median_open_days) == (
        1,
        0,
        0,
        20,
        20.0,
    )
