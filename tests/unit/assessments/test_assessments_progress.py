"""Which date is a visit's date, what is missing, and which state a visit is in (pure functions)."""

import datetime as dt

from trialdesk.apps.assessments.progress import missing, progress
from trialdesk.visits import VisitState, Window

WIN = Window(dt.date(2011, 12, 10), dt.date(2011, 11, 10), dt.date(2012, 1, 10))
TODAY = dt.date(2011, 12, 1)
FORMS = ("gaf_f", "panss", "audit")


def test_missing_keeps_protocol_order_and_counts_drafts_as_missing():
    assert missing(FORMS, {"panss": "draft", "gaf_f": "complete"}) == ("panss", "audit")
    assert missing(FORMS, {"panss": "not_done", "gaf_f": "complete", "audit": "complete"}) == ()


def test_an_unfinished_visit_follows_the_calendar():
    assert progress(FORMS, {}, {}, WIN, TODAY).state is VisitState.OPEN
    assert progress(FORMS, {}, {}, WIN, dt.date(2011, 11, 9)).state is VisitState.UPCOMING
    assert progress(FORMS, {}, {}, WIN, dt.date(2012, 1, 11)).state is VisitState.OVERDUE


def test_the_visit_date_is_the_earliest_completed_form():
    statuses = {"gaf_f": "complete", "panss": "complete", "audit": "not_done"}
    dates = {"gaf_f": dt.date(2011, 12, 5), "panss": dt.date(2011, 12, 3)}
    result = progress(FORMS, statuses, dates, WIN, TODAY)
    assert result.visit_date == dt.date(2011, 12, 3)
    assert result.state is VisitState.DONE
    assert result.finished


def test_a_visit_started_after_its_window_is_out_of_window_even_if_finished_later():
    statuses = dict.fromkeys(FORMS, "complete")
    dates = dict.fromkeys(FORMS, dt.date(2012, 1, 11))
    assert progress(FORMS, statuses, dates, WIN, TODAY).state is VisitState.DONE_OUT_OF_WINDOW


def test_every_form_not_done_is_a_missed_visit():
    result = progress(FORMS, dict.fromkeys(FORMS, "not_done"), {}, WIN, TODAY)
    assert result.state is VisitState.MISSED
    assert result.visit_date is None


def test_marked_missed_wins():
    assert progress(FORMS, {"gaf_f": "draft"}, {}, WIN, TODAY, missed=True).state is VisitState.MISSED


def test_the_anchor_visit_is_open_until_finished_and_never_out_of_window():
    base = Window(dt.date(2011, 3, 10), dt.date(2011, 3, 10), dt.date(2011, 3, 10))
    later = dt.date(2011, 6, 1)
    assert progress(FORMS, {}, {}, base, later, anchor=True).state is VisitState.OPEN
    statuses = dict.fromkeys(FORMS, "complete")
    dates = {"gaf_f": dt.date(2011, 3, 10), "panss": dt.date(2011, 3, 14), "audit": dt.date(2011, 3, 12)}
    assert progress(FORMS, statuses, dates, base, later, anchor=True).state is VisitState.DONE


def test_a_later_visit_without_a_window_waits():
    assert progress(FORMS, {}, {}, None, TODAY).state is VisitState.UPCOMING
    assert progress(FORMS, {}, {}, None, TODAY, anchor=True).state is VisitState.OPEN


def test_drafts_are_listed():
    assert progress(FORMS, {"audit": "draft"}, {}, WIN, TODAY).drafts == ("audit",)
