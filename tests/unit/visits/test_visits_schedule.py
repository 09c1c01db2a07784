"""Visit targets, windows and states on tricky dates (month ends, leap years, year ends)."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.protocol import load_protocol
from trialdesk.visits import VisitState, add_months, state, visit_window, window

D = dt.date


@pytest.mark.parametrize(("start", "months", "expected"), [
    (D(2011, 1, 31), 1, D(2011, 2, 28)),       # clamp to a short month
    (D(2012, 1, 31), 1, D(2012, 2, 29)),       # leap year
    (D(2011, 5, 31), 9, D(2012, 2, 29)),       # 9 months lands on a leap day
    (D(2011, 6, 30), 9, D(2012, 3, 30)),
    (D(2012, 2, 29), 21, D(2013, 11, 29)),
    (D(2012, 2, 29), 12, D(2013, 2, 28)),      # leap day plus a year
    (D(2011, 4, 15), 9, D(2012, 1, 15)),       # crosses a year end
    (D(2012, 3, 31), -1, D(2012, 2, 29)),      # backwards into a leap February
    (D(2011, 1, 1), -1, D(2010, 12, 1)),
    (D(2011, 1, 10), 0.5, D(2011, 1, 25)),     # half a month = 15.2 days -> 15
])
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_imr_windows_from_the_protocol():
    visits = {v.code: v for v in load_protocol().visits}
    w9 = visit_window(D(2011, 5, 31), visits["m9"])
    assert (w9.target, w9.opens, w9.closes) == (D(2012, 2, 29), D(2012, 1, 29), D(2012, 3, 29))
    w21 = visit_window(D(2011, 5, 31), visits["m21"])
    assert w21.target == D(2013, 2, 28)


@pytest.mark.parametrize(("today", "done_on", "missed", "expected"), [
    (D(2012, 1, 28), None, False, VisitState.UPCOMING),
    (D(2012, 1, 29), None, False, VisitState.OPEN),        # first day of the window
    (D(2012, 3, 29), None, False, VisitState.OPEN),        # last day of the window
    (D(2012, 3, 30), None, False, VisitState.OVERDUE),
    (D(2012, 4, 30), None, True, VisitState.MISSED),
    (D(2012, 4, 30), D(2012, 3, 29), False, VisitState.DONE),
    (D(2012, 4, 30), D(2012, 3, 30), False, VisitState.DONE_OUT_OF_WINDOW),
    (D(2012, 4, 30), D(2012, 1, 28), False, VisitState.DONE_OUT_OF_WINDOW),
])
def test_states_at_the_window_edges(today, done_on, missed, expected):
    win = window(D(2011, 5, 31), 9, 1, 1)
    assert state(win, today, done_on, missed) is expected


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)), st.integers(0, 36), st.integers(0, 3),
       st.integers(0, 3))
def test_window_always_brackets_its_target(baseline, month, before, after):
    win = window(baseline, month, before, after)
    assert win.opens <= win.target <= win.closes
    assert (win.target.year * 12 + win.target.month) - (baseline.year * 12 + baseline.month) == month
    assert win.target.day <= baseline.day
