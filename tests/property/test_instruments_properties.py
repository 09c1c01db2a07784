"""Property tests: for any valid responses every score stays within its declared range, and any value
outside an item's allowed set is refused with a message naming the item."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.errors import UserError
from trialdesk.instruments import Instrument, get_library, score

SCORED = [instrument for instrument in get_library() if instrument.score_names]


def responses(instrument: Instrument) -> st.SearchStrategy[dict[str, object]]:
    """A valid response for every item."""
    fields = {}
    for item in instrument.items:
        value: st.SearchStrategy[object] = (
            st.sampled_from(item.allowed) if item.allowed else st.floats(item.minimum, item.maximum)
        )
        fields[item.code] = value
    return st.fixed_dictionaries(fields)


@st.composite
def instrument_and_responses(draw: st.DrawFn, missing: bool) -> tuple[Instrument, dict[str, object]]:
    instrument = draw(st.sampled_from(SCORED))
    answers = draw(responses(instrument))
    if missing:
        # Up to just past the total's missing-item limit, so proration and its boundary are both exercised.
        codes = [item.code for item in instrument.items]
        limit = instrument.missing_rule("total").allowed_missing(len(instrument.scored_items))
        size = draw(st.sampled_from([1, limit, limit + 1, len(codes)]))
        answers.update(dict.fromkeys(draw(st.lists(st.sampled_from(codes), unique=True, max_size=size))))
    return instrument, answers


def assert_within_ranges(instrument: Instrument, values: dict[str, float | None]) -> None:
    assert tuple(values) == instrument.score_names
    for name, value in values.items():
        if value is None:
            continue
        low, high = instrument.score_range(name)
        assert low <= value <= high, (instrument.code, name, value)


@settings(max_examples=200)
@given(instrument_and_responses(missing=False))
def test_complete_responses_score_within_range(case: tuple[Instrument, dict[str, object]]) -> None:
    instrument, answers = case
    result = score(instrument, answers)
    assert all(value is not None for value in result.values.values())
    assert not result.prorated
    assert_within_ranges(instrument, result.values)
    if instrument.scoring.method == "sum":
        # Complete sums are the exact sum of the scored items (no reversed items ship).
        expected = sum(Fraction(str(answers[code])) for code in instrument.scored_items)
        assert result.values["total"] == float(expected)


@settings(max_examples=200)
@given(instrument_and_responses(missing=True))
def test_responses_with_missing_items_score_within_range(case: tuple[Instrument, dict[str, object]]) -> None:
    instrument, answers = case
    result = score(instrument, answers)
    assert_within_ranges(instrument, result.values)
    for name in instrument.score_names:
        items = instrument.score_items(name)
        n_missing = sum(answers[code] is None for code in items)
        allowed = instrument.missing_rule(name).allowed_missing(len(items))
        # A score exists exactly when few enough of its items are missing, and is prorated when any are.
        assert (result.values[name] is None) == (n_missing > allowed or n_missing == len(items))
        assert (name in result.prorated_scores) == (result.values[name] is not None and n_missing > 0)


@st.composite
def invalid_value(draw: st.DrawFn) -> tuple[Instrument, str, float]:
    instrument = draw(st.sampled_from(SCORED))
    item = draw(st.sampled_from([item for item in instrument.items if item.numeric]))
    assert item.minimum is not None
    assert item.maximum is not None
    value = draw(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v not in item.allowed),
            st.integers(-1000, 1000).filter(lambda v: v not in item.allowed),
        )
    )
    return instrument, item.code, value


@settings(max_examples=200)
@given(invalid_value())
def test_values_outside_the_allowed_set_always_raise(case: tuple[Instrument, str, float]) -> None:
    instrument, code, value = case
    try:
        score(instrument, {code: value})
    except UserError as error:
        message = str(error)
    else:
        raise AssertionError(f"{instrument.code} item {code} accepted {value!r}")
    assert message.startswith(f"{instrument.code} item {code}: ")
    assert "allowed values are " in message
