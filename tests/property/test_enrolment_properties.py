"""Properties of the enrolment rules: CPR dates round-trip, ICD-10 spellings agree, the pipeline holds."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from trialdesk.apps.participants import cpr
from trialdesk.apps.participants.status import TRANSITIONS, State
from trialdesk.apps.screening import icd10

# The CPR office's table, written out: 7th digit -> (two-digit years from, to, century).
_TABLE = {
    **{digit: [(0, 99, 1900)] for digit in (0, 1, 2, 3)},
    **{digit: [(0, 36, 2000), (37, 99, 1900)] for digit in (4, 9)},
    **{digit: [(0, 57, 2000), (58, 99, 1800)] for digit in (5, 6, 7, 8)},
}


def _digits_for(year: int) -> list[int]:
    yy, century = year % 100, year - year % 100
    return [
        digit
        for digit, spans in _TABLE.items()
        for low, high, c in spans
        if c == century and low <= yy <= high
    ]


@given(st.dates(min_value=dt.date(1858, 1, 1), max_value=dt.date(2057, 12, 31)), st.data())
def test_a_birth_date_written_as_cpr_reads_back(born, data):
    digits = _digits_for(born.year)
    if not digits:
        return
    seventh = data.draw(st.sampled_from(digits))
    serial = f"{seventh}{data.draw(st.integers(0, 999)):03d}"
    number = f"{born:%d%m}{born.year % 100:02d}-{serial}"
    assert cpr.birth_date(number) == born
    assert cpr.validate(number.replace("-", "")) == number


@given(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), st.integers(0, 99), st.none() | st.integers(0, 9))
def test_icd10_spellings_normalise_to_one_form_under_their_category(letter, number, detail):
    category = f"{letter}{number:02d}"
    written = [category + (f".{detail}" if detail is not None else "")]
    if detail is not None:
        written += [f"{category}{detail}".lower(), f" {category}.{detail} "]
    forms = {icd10.normalise(text) for text in written}
    assert len(forms) == 1
    assert icd10.matches(forms.pop(), (category,)) == category


@given(st.data())
def test_every_walk_along_the_pipeline_passes_consent_and_baseline_before_randomisation(data):
    state, history = State.SCREENED, [State.SCREENED]
    while TRANSITIONS[state] and len(history) < 40:
        state = data.draw(st.sampled_from(sorted(TRANSITIONS[state])))
        history.append(state)
        if state is State.RANDOMISED:
            assert history.index(State.CONSENTED) < history.index(State.BASELINE_COMPLETE) < len(history) - 1
        if state is State.CONSENTED:
            assert State.ELIGIBLE in history


def test_every_state_is_reachable_from_screened():
    reached, frontier = {State.SCREENED}, [State.SCREENED]
    while frontier:
        for target in TRANSITIONS[frontier.pop()] - reached:
            reached.add(target)
            frontier.append(target)
    assert reached == set(State)
