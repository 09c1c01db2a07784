"""Declared edit checks and validation of the typed baseline form."""

from __future__ import annotations

import pytest

from trialdesk.errors import UserError
from trialdesk.instruments import check_responses, run_checks, score

BASELINE = {"age": 34, "sex": "female", "diagnosis": "f20.0", "years_since_first_contact": 6.5}


def panss_all(value: int) -> dict[str, int]:
    codes = [f"P{i}" for i in range(1, 8)] + [f"N{i}" for i in range(1, 8)] + [f"G{i}" for i in range(1, 17)]
    return dict.fromkeys(codes, value)


def test_baseline_values_are_normalised() -> None:
    values = check_responses("baseline", {**BASELINE, "medication_names": " olanzapine 10 mg "})
    assert values["diagnosis"] == "F20.0"
    assert values["medication_names"] == "olanzapine 10 mg"
    assert values["years_since_first_contact"] == 6.5
    assert values["education"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sex": None}, "baseline item sex is required but missing"),
        ({"sex": "f"}, "baseline item sex: 'f' is not allowed; allowed values are female, male"),
        ({"age": 17.5}, "baseline item age: 17.5 is not allowed; allowed values are 16, 17, ..., 110"),
        (
            {"diagnosis": "schizophrenia"},
            "baseline item diagnosis: 'schizophrenia' is not an ICD-10 code; "
            "allowed values are an ICD-10 code such as F20.0",
        ),
        (
            {"years_since_first_contact": 91},
            "baseline item years_since_first_contact: 91 is out of range; "
            "allowed values are any number from 0 to 90",
        ),
        (
            {"employment": 3},
            "baseline item employment: 3 is not text; allowed values are employed, student, "
            "unemployed, sick_leave, disability_pension, retired, other",
        ),
        (
            {"medication_names": "x" * 1001},
            "baseline item medication_names: the text has 1001 characters; "
            "allowed values are text of at most 1000 characters",
        ),
    ],
)
def test_baseline_bad_values(change: dict[str, object], message: str) -> None:
    with pytest.raises(UserError) as raised:
        check_responses("baseline", {**BASELINE, **change})
    assert str(raised.value) == message


def test_baseline_plausibility_checks() -> None:
    assert run_checks("baseline", BASELINE) == []
    findings = run_checks("baseline", {**BASELINE, "age": 17, "years_since_first_contact": 20})
    assert [(f.check, f.target) for f in findings] == [
        ("adult", "age"),
        ("first_contact_within_lifetime", "years_since_first_contact"),
    ]
    assert findings[0].message == "age under 18: inclusion criterion 1 requires 18 or over (age = 17)"
    # A missing value is not queried by these checks: the missing-item rule and required flags handle it.
    assert run_checks("baseline", {**BASELINE, "years_since_first_contact": None}) == []


def test_panss_recorded_total_inconsistent_with_subscales() -> None:
    # Computed from all-2 items: positive 14, negative 14, general 32, total 60.
    assert run_checks("panss", panss_all(2)) == []
    assert run_checks("panss", panss_all(2), recorded={"total": 60}) == []
    [finding] = run_checks("panss", panss_all(2), recorded={"total": 61})
    assert finding.check == "total_matches_subscales"
    assert finding.target == "total"
    assert finding.message == (
        "PANSS total differs from the sum of its positive, negative and general scales "
        "(total = 61, positive + negative + general = 60)"
    )
    # Paper subscale totals that do not add up to the paper total are found too.
    [finding] = run_checks("panss", {}, recorded={"total": 70, "positive": 20, "negative": 20, "general": 31})
    assert finding.message.endswith("(total = 70, positive + negative + general = 71)")


def test_sum_check_skips_prorated_scores() -> None:
    # P1 = 5, P7 missing, the rest 2. Positive: (5 + 5 * 2) * 7 / 6 = 17.5 -> 18; total: 61 * 30 / 29 = 63.1
    # -> 63; 18 + 14 + 32 = 64 != 63. Proration of parts and of the total differ by design: not a query.
    responses: dict[str, int | None] = {**panss_all(2), "P1": 5, "P7": None}

    assert score("panss", responses).values == {
        "total": 63.0,
        "positive": 18.0,
        "negative": 14.0,
        "general": 32.0,
    }
    assert run_checks("panss", responses) == []
    # The rater's own paper totals are still compared.
    assert len(run_checks("panss", responses, recorded={"total": 63, "positive": 18})) == 1


def test_recorded_unknown_score_is_refused() -> None:
    with pytest.raises(
        UserError, match="panss: unknown score 'pos' in recorded scores; its scores are total"
    ):
        run_checks("panss", {}, recorded={"pos": 3})
