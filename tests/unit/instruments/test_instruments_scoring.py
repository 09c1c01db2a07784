"""Hand-computed scoring cases for every instrument; each expected number is worked out in a comment."""

from __future__ import annotations

import math
import tomllib

import pytest

from trialdesk.errors import UserError
from trialdesk.instruments import Instrument, get_library, score
from trialdesk.instruments.library import DEFINITIONS


def panss(values: list[int]) -> dict[str, int]:
    codes = [f"P{i}" for i in range(1, 8)] + [f"N{i}" for i in range(1, 8)] + [f"G{i}" for i in range(1, 17)]
    return dict(zip(codes, values, strict=True))


# ---- PANSS ----


def test_panss_subscales_and_total() -> None:
    positive = [3, 2, 4, 1, 1, 5, 2]  # 18
    negative = [2, 3, 3, 4, 2, 3, 1]  # 18
    general = [2, 3, 1, 2, 1, 4, 2, 1, 3, 1, 2, 4, 2, 1, 2, 3]  # 34
    result = score("panss", panss(positive + negative + general))
    assert result.values == {"total": 70.0, "positive": 18.0, "negative": 18.0, "general": 34.0}
    assert not result.prorated
    assert result.missing_items == ()


@pytest.mark.parametrize(("value", "expected"), [(1, (30, 7, 7, 16)), (7, (210, 49, 49, 112))])
def test_panss_extremes(value: int, expected: tuple[int, int, int, int]) -> None:
    result = score("panss", panss([value] * 30))
    assert tuple(result.values.values()) == expected


def test_panss_prorates_at_exactly_twenty_percent_missing() -> None:
    # 6 of 30 missing (P7, N7, G13-G16). Observed: 24 items, all 2 except P1 = 3 and G1 = 3: sum 50.
    # total = 50 * 30 / 24 = 62.5 -> 63 (half up); positive P1-P6 = 13, 13 * 7 / 6 = 15.17 -> 15;
    # negative N1-N6 = 12, 12 * 7 / 6 = 14; general misses 4 of 16 > floor(3.2) = 3 -> missing.
    responses: dict[str, int | None] = dict.fromkeys(panss([0] * 30), 2)
    responses.update(P1=3, G1=3, P7=None, N7=None, G13=None, G14=None, G15=None, G16=None)
    result = score("panss", responses)
    assert result.values == {"total": 63.0, "positive": 15.0, "negative": 14.0, "general": None}
    assert result.prorated
    assert result.prorated_scores == ("total", "positive", "negative")
    assert result.missing_items == ("P7", "N7", "G13", "G14", "G15", "G16")


def test_panss_total_missing_just_above_twenty_percent() -> None:
    # 7 of 30 missing (23 %): total missing; the positive scale (P1-P7 complete) is still scored.
    responses: dict[str, int | None] = dict.fromkeys(panss([0] * 30), 2)
    responses.update({f"G{i}": None for i in range(10, 17)})
    result = score("panss", responses)
    assert result.values["total"] is None
    assert result.values["positive"] == 14.0
    assert result.values["general"] is None  # 7 of 16 missing


# ---- HAM-D 17 ----


def test_hamd17_total() -> None:
    values = [2, 1, 0, 2, 1, 0, 3, 1, 1, 2, 1, 1, 2, 0, 1, 0, 1]  # running sum ends at 19
    result = score("hamd17", {str(i): v for i, v in enumerate(values, 1)})
    assert result.values == {"total": 19.0}


def test_hamd17_maximum_is_52() -> None:
    # items 1, 2, 3, 7, 8, 9, 10, 11, 15 at 4 (36) and 4, 5, 6, 12, 13, 14, 16, 17 at 2 (16): 52.
    four = {"1", "2", "3", "7", "8", "9", "10", "11", "15"}
    result = score("hamd17", {str(i): 4 if str(i) in four else 2 for i in range(1, 18)})
    assert result.values["total"] == 52.0


def test_hamd17_two_point_item_refuses_three() -> None:
    with pytest.raises(UserError, match=r"^hamd17 item 4: 3 is not allowed; allowed values are 0, 1, 2$"):
        score("hamd17", {"4": 3})


# ---- YMRS ----

YMRS = {"1": 2, "2": 1.5, "3": 0, "4": 1, "5": 4, "6": 3, "7": 1, "8": 6, "9": 0, "10": 0.5, "11": 1}


def test_ymrs_total_with_half_and_intermediate_points() -> None:
    # 2 + 1.5 + 0 + 1 + 4 + 3 + 1 + 6 + 0 + 0.5 + 1 = 20
    assert score("ymrs", YMRS).values == {"total": 20.0}


def test_ymrs_maximum_is_60() -> None:
    double = {"5", "6", "8", "9"}
    result = score("ymrs", {str(i): 8 if str(i) in double else 4 for i in range(1, 12)})
    assert result.values["total"] == 60.0  # 4 * 8 + 7 * 4


def test_ymrs_prorated_to_one_decimal() -> None:
    # items 10 and 11 missing (2 of 11 <= floor(2.2)); observed sum 18.5; 18.5 * 11 / 9 = 22.611 -> 22.6
    result = score("ymrs", {**YMRS, "10": None, "11": None})
    assert result.values["total"] == 22.6
    assert score("ymrs", {**YMRS, "9": None, "10": None, "11": None}).values["total"] is None


@pytest.mark.parametrize(
    ("item", "value", "allowed"),
    [
        ("5", 2.5, "0, 1, ..., 8"),
        ("5", 9, "0, 1, ..., 8"),
        ("1", 5, "0, 0.5, ..., 4"),
        ("1", 0.25, "0, 0.5, ..., 4"),
    ],
)
def test_ymrs_refuses_values_off_the_grid(item: str, value: float, allowed: str) -> None:
    with pytest.raises(
        UserError, match=rf"^ymrs item {item}: .* is not allowed; allowed values are {allowed}$"
    ):
        score("ymrs", {item: value})


# ---- AUDIT and DUDIT: weighted items ----


def test_audit_total_and_domains() -> None:
    values = [3, 2, 1, 0, 1, 0, 2, 1, 2, 4]
    result = score("audit", {str(i): v for i, v in enumerate(values, 1)})
    # total 16; hazardous 3 + 2 + 1 = 6; dependence 0 + 1 + 0 = 1; harmful 2 + 1 + 2 + 4 = 9
    assert result.values == {"total": 16.0, "hazardous": 6.0, "dependence": 1.0, "harmful": 9.0}


def test_audit_maximum_is_40() -> None:
    assert score("audit", {str(i): 4 for i in range(1, 11)}).values["total"] == 40.0


@pytest.mark.parametrize(("item", "value"), [("9", 3), ("9", 1), ("10", 1), ("10", 3), ("1", 5), ("2", -1)])
def test_audit_refuses_values_not_allowed(item: str, value: int) -> None:
    allowed = "0, 2, 4" if item in {"9", "10"} else "0, 1, 2, 3, 4"
    with pytest.raises(UserError) as raised:
        score("audit", {item: value})
    assert str(raised.value) == f"audit item {item}: {value} is not allowed; allowed values are {allowed}"


def test_dudit_total() -> None:
    values = [4, 3, 2, 1, 0, 1, 2, 3, 4, 2, 4]  # 1-9 sum to 20, plus 2 + 4: 26
    assert score("dudit", {str(i): v for i, v in enumerate(values, 1)}).values == {"total": 26.0}


def test_dudit_maximum_is_44_and_item_11_refuses_3() -> None:
    assert score("dudit", {str(i): 4 for i in range(1, 12)}).values["total"] == 44.0
    with pytest.raises(UserError, match=r"^dudit item 11: 3 is not allowed; allowed values are 0, 2, 4$"):
        score("dudit", {"11": 3})


# ---- MHRM, ASHS, CSQ-8 ----


def test_mhrm_total_and_proration() -> None:
    responses = {str(i): i % 5 for i in range(1, 31)}  # 1, 2, 3, 4, 0 six times: 60
    assert score("mhrm", responses).values == {"total": 60.0}
    # Items 5, 10, ..., 30 (the six zeros, 20 %) missing: 60 * 30 / 24 = 75.
    six_missing = {**responses, **{str(i): None for i in range(5, 31, 5)}}
    result = score("mhrm", six_missing)
    assert result.values == {"total": 75.0}
    assert result.prorated
    assert score("mhrm", {**six_missing, "1": None}).values == {"total": None}  # 7 of 30


def test_ashs_agency_and_pathways() -> None:
    responses = {"1": 5, "2": 7, "3": 4, "4": 6, "5": 3, "6": 8}
    # total 33; agency = items 2, 4, 6 = 7 + 6 + 8 = 21; pathways = items 1, 3, 5 = 5 + 4 + 3 = 12
    assert score("ashs", responses).values == {"total": 33.0, "agency": 21.0, "pathways": 12.0}


def test_ashs_one_missing_item_prorates_total_but_not_its_subscale() -> None:
    # Item 6 missing: total (1 of 6 allowed) = 25 * 6 / 5 = 30; agency (0 of 3 allowed) missing.
    result = score("ashs", {"1": 5, "2": 7, "3": 4, "4": 6, "5": 3, "6": None})
    assert result.values == {"total": 30.0, "agency": None, "pathways": 12.0}
    assert result.prorated_scores == ("total",)


def test_ashs_range_6_to_48() -> None:
    assert score("ashs", {str(i): 1 for i in range(1, 7)}).values["total"] == 6.0
    assert score("ashs", {str(i): 8 for i in range(1, 7)}).values["total"] == 48.0


def test_csq8_total() -> None:
    values = [3, 4, 3, 4, 2, 3, 3, 4]  # 26
    assert score("csq8", {str(i): v for i, v in enumerate(values, 1)}).values == {"total": 26.0}
    with pytest.raises(UserError, match=r"^csq8 item 3: 0 is not allowed; allowed values are 1, 2, 3, 4$"):
        score("csq8", {"3": 0})


# ---- IMRS: no reversed items in the published scale; reversal works when declared ----

IMRS = {str(i): (i - 1) % 5 + 1 for i in range(1, 16)}  # 1, 2, 3, 4, 5 three times: 45


@pytest.mark.parametrize("code", ["imrs_client", "imrs_clinician"])
def test_imrs_total(code: str) -> None:
    assert get_library().get(code).scoring.reversed == ()
    assert score(code, IMRS).values == {"total": 45.0}


def test_reversed_items_are_scored_minimum_plus_maximum_minus_value() -> None:
    data = tomllib.loads((DEFINITIONS / "imrs_client.toml").read_text(encoding="utf-8"))
    data["scoring"]["reversed"] = ["6", "7", "9"]
    reversing = Instrument.model_validate(data)
    # item 6: 1 -> 5 (+4); item 7: 2 -> 4 (+2); item 9: 4 -> 2 (-2): 45 + 4 = 49
    assert score(reversing, IMRS).values == {"total": 49.0}
    # Reversal comes before proration: item 6 missing, observed 49 - 5 = 44 over 14 items:
    # 44 * 15 / 14 = 47.14 -> 47
    assert score(reversing, {**IMRS, "6": None}).values == {"total": 47.0}


# ---- IMR Fidelity Scale: mean and categories ----


def fidelity(values: list[int | None]) -> dict[str, int | None]:
    return {str(i): v for i, v in enumerate(values, 1)}


@pytest.mark.parametrize(
    ("values", "mean", "category"),
    [
        ([4] * 13, 4.0, "high"),  # boundary: 4.0 is high
        ([5] * 13, 5.0, "high"),
        ([4] * 12 + [3], 51 / 13, "moderate"),  # 3.923: moderate, not rounded up to 3.9 or 4.0
        ([3] * 13, 3.0, "moderate"),  # boundary: 3.0 is moderate
        ([3] * 12 + [2], 38 / 13, "low"),  # 2.923
        ([1] * 13, 1.0, "low"),
    ],
)
def test_fidelity_mean_and_category(values: list[int], mean: float, category: str) -> None:
    result = score("imr_fidelity", fidelity(list(values)))
    assert result.values["total"] == pytest.approx(mean, abs=1e-12)
    assert result.categories == {"total": category}


def test_fidelity_missing_items() -> None:
    # two of 13 missing (floor(2.6) = 2): mean of the 11 rated: (5 * 4 + 6 * 3) / 11 = 38 / 11 = 3.4545
    values: list[int | None] = [4] * 5 + [3] * 6 + [None, None]
    result = score("imr_fidelity", fidelity(values))
    assert result.values["total"] == pytest.approx(38 / 11)
    assert result.categories == {"total": "moderate"}
    assert result.prorated
    three_missing = score("imr_fidelity", fidelity([4] * 10 + [None] * 3))
    assert three_missing.values == {"total": None}
    assert three_missing.categories == {"total": None}


# ---- Single ratings: GAF-F, GAF-S, PSP ----


@pytest.mark.parametrize("code", ["gaf_f", "gaf_s", "psp"])
def test_single_rating_is_the_score_and_missing_is_missing(code: str) -> None:
    assert score(code, {"rating": 45}).values == {"total": 45.0}
    missing = score(code, {"rating": None})
    assert missing.values == {"total": None}
    assert missing.missing_items == ("rating",)
    assert not missing.prorated
    for bad in (0, 101, 45.5):
        with pytest.raises(
            UserError, match=rf"^{code} item rating: .* allowed values are 1, 2, \.\.\., 100$"
        ):
            score(code, {"rating": bad})


def test_psp_domain_ratings_are_checked_but_not_summed() -> None:
    assert score("psp", {"rating": 52, "a": 3, "b": 4, "c": 2, "d": 1}).values == {"total": 52.0}
    assert score("psp", {"rating": 52, "a": None}).missing_items == ()
    with pytest.raises(
        UserError, match=r"^psp item d: 7 is not allowed; allowed values are 1, 2, 3, 4, 5, 6$"
    ):
        score("psp", {"rating": 52, "d": 7})


# ---- Inputs ----


def test_unknown_item_is_named() -> None:
    with pytest.raises(UserError, match=r"^panss: unknown item P8; its items are P1, P2"):
        score("panss", {"P8": 3})


def test_numbers_as_text_nan_and_blank_are_accepted() -> None:
    result = score(
        "csq8", {"1": "3", "2": " 4 ", "3": "3.0", "4": 4, "5": 2.0, "6": 3, "7": math.nan, "8": ""}
    )
    # 2 of 8 missing (floor(1.6) = 1 allowed): total missing.
    assert result.values == {"total": None}
    assert result.missing_items == ("7", "8")
    # One missing: 3 + 4 + 3 + 4 + 2 + 3 + 3 = 22 over 7 items: 22 * 8 / 7 = 25.14 -> 25
    one_missing = {"1": "3", "2": " 4 ", "3": "3.0", "4": 4, "5": 2.0, "6": 3, "7": 3, "8": None}
    assert score("csq8", one_missing).values == {"total": 25.0}


@pytest.mark.parametrize("value", [True, "three", math.inf, [3]])
def test_values_that_are_not_numbers_are_refused(value: object) -> None:
    with pytest.raises(
        UserError, match=r"^hamd17 item 1: .* is not a number; allowed values are 0, 1, 2, 3, 4$"
    ):
        score("hamd17", {"1": value})


def test_baseline_has_no_scores_and_score_refuses_it() -> None:
    assert get_library().get("baseline").score_names == ()
    with pytest.raises(UserError, match=r"^baseline has no scores"):
        score("baseline", {"age": 40, "sex": "female", "diagnosis": "F20.0"})


def test_unknown_instrument_names_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"^unknown instrument 'bprs'; known instruments are ashs, audit, "):
        score("bprs", {})
