"""The built-in library against imr-trial.md, and load-time validation of broken definitions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trialdesk.errors import UserError
from trialdesk.instruments import LibraryError, get_library, load_library, score

# The interface (notes/interfaces.md) fixes these codes.
CODES = {
    "gaf_f",
    "gaf_s",
    "psp",
    "panss",
    "hamd17",
    "ymrs",
    "audit",
    "dudit",
    "mhrm",
    "ashs",
    "csq8",
    "imrs_client",
    "imrs_clinician",
    "imr_fidelity",
    "baseline",
}

# Copied by hand from the outcomes table of imr-trial.md ("items and range" column), not from the code.
IMR_TRIAL_RANGES = {
    ("gaf_f", "total"): (1, 100),
    ("gaf_s", "total"): (1, 100),
    ("psp", "total"): (1, 100),
    ("panss", "total"): (30, 210),
    ("hamd17", "total"): (0, 52),
    ("ymrs", "total"): (0, 60),
    ("audit", "total"): (0, 40),
    ("dudit", "total"): (0, 44),
    ("mhrm", "total"): (0, 120),
    ("ashs", "total"): (6, 48),
    ("csq8", "total"): (8, 32),
    ("imrs_client", "total"): (15, 75),
    ("imrs_clinician", "total"): (15, 75),
    # IMR Fidelity Scale: mean of 13 items each 1-5.
    ("imr_fidelity", "total"): (1, 5),
    # PANSS subscales: 7, 7 and 16 items of 1-7; ASHS subscales: 3 items of 1-8.
    ("panss", "positive"): (7, 49),
    ("panss", "negative"): (7, 49),
    ("panss", "general"): (16, 112),
    ("ashs", "agency"): (3, 24),
    ("ashs", "pathways"): (3, 24),
}

IMR_TRIAL_ITEMS = {
    "gaf_f": 1,
    "gaf_s": 1,
    "panss": 30,
    "hamd17": 17,
    "ymrs": 11,
    "audit": 10,
    "dudit": 11,
    "mhrm": 30,
    "ashs": 6,
    "csq8": 8,
    "imrs_client": 15,
    "imrs_clinician": 15,
    "imr_fidelity": 13,
}


def test_library_has_exactly_the_interface_codes() -> None:
    library = get_library()
    assert set(library.codes()) == CODES
    assert all(code in library for code in CODES)
    assert "bprs" not in library
    assert len(library) == len(CODES)


def test_library_is_parsed_once() -> None:
    assert get_library() is get_library()


@pytest.mark.parametrize(("code", "name"), sorted(IMR_TRIAL_RANGES))
def test_score_ranges_match_imr_trial(code: str, name: str) -> None:
    assert get_library().get(code).score_range(name) == IMR_TRIAL_RANGES[code, name]


@pytest.mark.parametrize(("code", "n_items"), sorted(IMR_TRIAL_ITEMS.items()))
def test_scored_item_counts_match_imr_trial(code: str, n_items: int) -> None:
    assert len(get_library().get(code).scored_items) == n_items


def test_score_names_start_with_total() -> None:
    library = get_library()
    assert library.get("panss").score_names == ("total", "positive", "negative", "general")
    assert library.get("ashs").score_names == ("total", "agency", "pathways")
    assert library.get("psp").score_names == ("total",)
    for instrument in library:
        assert instrument.score_names[:1] in {("total",), ()}


def test_raters() -> None:
    raters = {instrument.code: instrument.rater for instrument in get_library()}
    assert {c for c, r in raters.items() if r == "assessor"} == {
        "gaf_f",
        "gaf_s",
        "psp",
        "panss",
        "hamd17",
        "ymrs",
    }
    assert {c for c, r in raters.items() if r == "self"} == {
        "audit",
        "dudit",
        "mhrm",
        "ashs",
        "csq8",
        "imrs_client",
    }
    assert raters["imrs_clinician"] == "clinician"
    assert raters["imr_fidelity"] == "fidelity_rater"
    assert raters["baseline"] == "staff"


def test_item_ranges_as_imr_trial_states_them() -> None:
    library = get_library()
    hamd = library.get("hamd17").item_map
    assert {c for c, item in hamd.items() if item.maximum == 4} == {
        "1",
        "2",
        "3",
        "7",
        "8",
        "9",
        "10",
        "11",
        "15",
    }
    assert {c for c, item in hamd.items() if item.maximum == 2} == {
        "4",
        "5",
        "6",
        "12",
        "13",
        "14",
        "16",
        "17",
    }
    ymrs = library.get("ymrs").item_map
    assert {c for c, item in ymrs.items() if item.maximum == 8} == {"5", "6", "8", "9"}
    assert library.get("audit").item_map["9"].allowed == (0, 2, 4)
    assert library.get("audit").item_map["10"].allowed == (0, 2, 4)
    assert library.get("dudit").item_map["10"].allowed == (0, 2, 4)
    assert library.get("dudit").item_map["9"].allowed == (0, 1, 2, 3, 4)
    panss = library.get("panss")
    assert [item.code for item in panss.items][:8] == ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "N1"]
    assert panss.item_map["P1"].label == "Delusions"
    assert all(item.allowed == (1, 2, 3, 4, 5, 6, 7) for item in panss.items)


def test_fidelity_item_labels_are_the_thirteen_of_imr_trial() -> None:
    labels = [item.label.lower() for item in get_library().get("imr_fidelity").items]
    assert labels == [
        "group size",
        "program length",
        "comprehensiveness of curriculum",
        "educational handouts",
        "involvement of significant others",
        "goal setting",
        "goal follow-up",
        "motivation-based strategies",
        "educational techniques",
        "cognitive-behavioural techniques",
        "coping-skills training",
        "relapse-prevention training",
        "behavioural tailoring for medication",
    ]


def test_labels_are_short_and_neutral_not_questionnaire_wording() -> None:
    for instrument in get_library():
        for item in instrument.items:
            assert len(item.label) <= 60, (instrument.code, item.code)
            assert not re.search(r"[?]|\b(you|your|I|me|my)\b", item.label), (instrument.code, item.label)
            for anchor in item.anchors:
                assert len(anchor.label) <= 60
                assert "?" not in anchor.label


@pytest.mark.parametrize("code", ["gaf_f", "gaf_s", "psp"])
def test_single_ratings_have_anchor_bands_covering_1_to_100(code: str) -> None:
    anchors = sorted(get_library().get(code).item_map["rating"].anchors, key=lambda a: a.low)
    assert [(a.low, a.high) for a in anchors] == [(10 * k + 1, 10 * k + 10) for k in range(10)]


def test_psp_has_domain_ratings_a_to_d() -> None:
    psp = get_library().get("psp")
    assert [item.code for item in psp.items] == ["rating", "a", "b", "c", "d"]
    assert psp.scored_items == ("rating",)
    assert all(psp.item_map[d].allowed == (1, 2, 3, 4, 5, 6) for d in "abcd")


def test_baseline_fields_are_typed() -> None:
    items = get_library().get("baseline").item_map
    assert items["age"].kind == "number"
    assert items["age"].required
    assert items["sex"].kind == "choice"
    assert [c.code for c in items["sex"].choices] == ["female", "male"]
    assert items["diagnosis"].kind == "icd10"
    assert items["years_since_first_contact"].allowed == ()  # continuous
    assert {"education", "employment", "living_situation", "antipsychotic", "medication_names"} <= set(items)


def test_unknown_code_and_score_name() -> None:
    with pytest.raises(UserError, match="unknown instrument 'x'; known instruments are ashs"):
        get_library().get("x")
    with pytest.raises(UserError, match="panss has no score 'pos'; its scores are total, positive"):
        get_library().get("panss").score_range("pos")


# ---- broken definitions ------------------------------------------------------------------------------------

GOOD = """
code = "{code}"
name = "Test scale"
short_name = "TS"
rater = "self"
{extra}
[[items]]
code = "1"
label = "First"
minimum = 0
maximum = 4
step = 1

[[items]]
code = "2"
label = "Second"
{second}
"""


def write(directory: Path, code: str = "ts", *, extra: str = "", second: str = "allowed = [0, 2, 4]") -> Path:
    path = directory / f"{code}.toml"
    path.write_text(GOOD.format(code=code, extra=extra, second=second), encoding="utf-8")
    return path


def problems(directory: Path) -> list[str]:
    with pytest.raises(LibraryError) as raised:
        load_library(directory)
    return raised.value.problems


def test_a_good_definition_loads(tmp_path: Path) -> None:
    write(tmp_path)
    library = load_library(tmp_path)
    assert library.codes() == ["ts"]
    assert library.get("ts").score_range("total") == (0, 8)


def test_duplicate_item_codes(tmp_path: Path) -> None:
    write(
        tmp_path,
        extra="",
        second='allowed = [0, 2, 4]\n\n[[items]]\ncode = "1"\nlabel = "Again"\nallowed = [0, 1]',
    )
    assert problems(tmp_path) == ["ts.toml: duplicate item code 1"]


def test_subscale_naming_unknown_items(tmp_path: Path) -> None:
    write(tmp_path, extra='[[subscales]]\nname = "part"\nlabel = "Part"\nitems = ["1", "9"]\n')
    assert problems(tmp_path) == ["ts.toml: subscale part: unknown item 9"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            "allowed = [0, 2, 4]\nmaximum = 8",
            "item 2: maximum 8 is inconsistent with the allowed values 0, 2, 4",
        ),
        (
            "allowed = [0, 2, 4]\nminimum = 1",
            "item 2: minimum 1 is inconsistent with the allowed values 0, 2, 4",
        ),
        ("minimum = 0\nmaximum = 4\nstep = 3", "item 2: step 3 does not divide the range 0 to 4"),
        (
            "minimum = 0\nmaximum = 4\nstep = 1\nallowed = [0, 2, 4]",
            "item 2: allowed values 0, 2, 4 are inconsistent with minimum 0, maximum 4 and step 1",
        ),
        (
            "minimum = 0\nmaximum = 4",
            "item 2: a rating needs a discrete set of allowed values (allowed or step)",
        ),
        ("allowed = [0, 1, 1]", "item 2: duplicate allowed values"),
        (
            'kind = "text"\nminimum = 0',
            "item 2: a text item takes no allowed values, minimum, maximum or step",
        ),
        (
            'allowed = [0, 2, 4]\nanchors = [{ low = 0, high = 5, label = "too far" }]',
            "item 2: anchor 'too far' (0-5) lies outside the range 0 to 4",
        ),
    ],
)
def test_ranges_inconsistent_with_allowed_values(tmp_path: Path, second: str, message: str) -> None:
    write(tmp_path, second=second)
    assert problems(tmp_path) == [f"ts.toml: items[1] (2): {message}"]


def test_reversing_an_asymmetric_item_is_refused(tmp_path: Path) -> None:
    write(tmp_path, extra='[scoring]\nreversed = ["2", "7"]\n', second="allowed = [0, 1, 4]")
    assert problems(tmp_path) == [
        "ts.toml: scoring.reversed: item 2's allowed values 0, 1, 4 are not symmetric, so reversing them "
        "would leave the allowed set",
        "ts.toml: scoring.reversed: unknown item 7",
    ]


def test_sum_check_whose_parts_do_not_split_the_total(tmp_path: Path) -> None:
    extra = (
        '[[subscales]]\nname = "part"\nlabel = "Part"\nitems = ["1"]\n\n'
        '[[checks]]\ncode = "adds_up"\nkind = "sum"\ntarget = "total"\nparts = ["part"]\nmessage = "m"\n'
    )
    write(tmp_path, extra=extra)
    assert problems(tmp_path) == [
        "ts.toml: check adds_up: scores part do not add up to total (their items "
        "must split its items exactly, and the method must be sum)"
    ]


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "aa", extra='rater = "robot"\n'.replace("rater", "kind_of_rater"))
    write(tmp_path, "bb").write_text("code = [", encoding="utf-8")
    write(tmp_path, "cc").write_text(
        GOOD.format(code="other", extra="", second="allowed = [0]"), encoding="utf-8"
    )
    found = problems(tmp_path)
    assert found[0] == "aa.toml: kind_of_rater: Extra inputs are not permitted"
    assert found[1].startswith("bb.toml: not valid TOML: ")
    assert found[2] == "cc.toml: code 'other' does not match the file name"
    assert len(found) == 3


def test_unknown_rater_is_named(tmp_path: Path) -> None:
    write(tmp_path).write_text(
        GOOD.format(code="ts", extra="", second="allowed = [0]").replace('rater = "self"', 'rater = "robot"'),
        encoding="utf-8",
    )
    [problem] = problems(tmp_path)
    assert problem.startswith("ts.toml: rater: Input should be 'assessor', 'self', 'clinician'")


def test_empty_and_missing_directories(tmp_path: Path) -> None:
    assert problems(tmp_path) == [f"{tmp_path}: no instrument definitions (*.toml)"]
    with pytest.raises(UserError, match="is not a directory"):
        load_library(tmp_path / "absent")


def test_missing_rule_configurable_per_instrument_and_subscale(tmp_path: Path) -> None:
    extra = (
        "[scoring]\nmissing = { max_missing_fraction = 0.5 }\n\n"
        '[[subscales]]\nname = "strict"\nlabel = "Strict"\nitems = ["1", "2"]\n'
        "missing = { max_missing_items = 0 }\n"
    )
    write(tmp_path, extra=extra)
    instrument = load_library(tmp_path).get("ts")
    # Item 2 missing: the total allows half its items missing (1 of 2): 3 * 2 / 1 = 6;
    # the subscale allows none.
    assert score(instrument, {"1": 3, "2": None}).values == {"total": 6.0, "strict": None}
    assert score(instrument, {"1": 3, "2": 4}).values == {"total": 7.0, "strict": 7.0}


def test_required_item_missing_raises_naming_it(tmp_path: Path) -> None:
    write(tmp_path, second="allowed = [0, 2, 4]\nrequired = true")
    instrument = load_library(tmp_path).get("ts")
    with pytest.raises(UserError, match=r"^ts item 2 is required but missing$"):
        score(instrument, {"1": 3})
    assert score(instrument, {"2": 4}).values == {"total": None}  # 1 of 2 missing > floor(0.4) = 0
