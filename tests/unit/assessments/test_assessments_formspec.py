"""The generic form builder: layouts, sections, widgets and options follow from the definitions alone."""

import pytest

from trialdesk.apps.assessments.formspec import build, field_for
from trialdesk.instruments import Item, get_library

LIBRARY = get_library()


@pytest.mark.parametrize("code", LIBRARY.codes())
def test_every_instrument_gets_a_form_with_every_item_in_declared_order(code):
    instrument = LIBRARY.get(code)
    spec = build(instrument)
    assert [field.code for field in spec.fields] == [item.code for item in instrument.items]
    assert len({field.name for field in spec.fields}) == len(instrument.items)


def test_panss_is_a_grid_in_three_sections_with_one_legend():
    spec = build(LIBRARY.get("panss"))
    assert spec.layout == "grid"
    assert [(s.label, len(s.fields)) for s in spec.sections] == [
        ("Positive scale", 7),
        ("Negative scale", 7),
        ("General psychopathology scale", 16),
    ]
    assert [a.label for a in spec.legend] == [
        "absent", "minimal", "mild", "moderate", "moderate severe", "severe", "extreme",
    ]  # fmt: skip
    p1 = spec.field("P1")
    assert (p1.widget, p1.minimum, p1.maximum, p1.step) == ("number", "1", "7", "1")
    assert [o.value for o in p1.options] == ["1", "2", "3", "4", "5", "6", "7"]


def test_weighted_audit_items_offer_only_their_allowed_values():
    spec = build(LIBRARY.get("audit"))
    assert spec.layout == "list"
    assert spec.field("1").widget == "number"
    for code in ("9", "10"):
        field = spec.field(code)
        assert field.widget == "select"
        assert [o.value for o in field.options] == ["0", "2", "4"]


def test_half_points_are_typed_with_their_step():
    field = build(LIBRARY.get("ymrs")).field("1")
    assert (field.widget, field.step, field.minimum, field.maximum) == ("number", "0.5", "0", "4")
    assert field.options[1].value == "0.5"


def test_dudit_weighted_items_too():
    spec = build(LIBRARY.get("dudit"))
    assert [o.value for o in spec.field("10").options] == ["0", "2", "4"]
    assert [o.value for o in spec.field("11").options] == ["0", "2", "4"]


def test_single_ratings_show_their_anchor_bands():
    spec = build(LIBRARY.get("gaf_f"))
    assert spec.layout == "single"
    rating = spec.field("rating")
    assert (rating.widget, rating.minimum, rating.maximum) == ("number", "1", "100")
    assert rating.options == ()  # 100 values are typed, not picked
    assert (rating.anchors[0].low, rating.anchors[0].high) == (91, 100)
    assert len(rating.anchors) == 10


def test_psp_puts_the_global_rating_first_and_domains_after():
    spec = build(LIBRARY.get("psp"))
    assert spec.layout == "single"
    assert [f.code for f in spec.sections[0].fields] == ["rating"]
    assert [f.code for f in spec.sections[1].fields] == ["a", "b", "c", "d"]
    assert [o.label for o in spec.field("a").options][:2] == ["absent", "mild"]


def test_ashs_subscales_interleave_so_items_stay_in_order_without_sections():
    spec = build(LIBRARY.get("ashs"))
    assert len(spec.sections) == 1
    assert [f.code for f in spec.fields] == ["1", "2", "3", "4", "5", "6"]


def test_the_baseline_form_is_typed_fields():
    spec = build(LIBRARY.get("baseline"))
    assert spec.layout == "typed"
    assert spec.field("sex").widget == "select"
    assert [o.value for o in spec.field("sex").options] == ["female", "male"]
    assert spec.field("diagnosis").widget == "icd10"
    assert spec.field("age").required
    assert spec.field("medication_names").widget == "textarea"
    years = spec.field("years_since_first_contact")
    assert (years.widget, years.step, years.minimum, years.maximum) == ("number", "any", "0", "90")


def test_an_irregular_allowed_set_is_a_list_not_a_number():
    item = Item(code="x", label="irregular", allowed=(0, 1, 3))
    field = field_for(item)
    assert field.widget == "select"
    assert [o.value for o in field.options] == ["0", "1", "3"]


def test_field_names_are_prefixed_because_item_codes_may_be_digits():
    assert build(LIBRARY.get("audit")).field("9").name == "item_9"
