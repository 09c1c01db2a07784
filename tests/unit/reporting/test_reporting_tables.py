"""Baseline and outcome tables against numbers worked out by hand on small frames."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trialdesk.reporting.arms import arm_view, oriented
from trialdesk.reporting.tables import baseline_table, fmt_effect, outcome_table
from trialdesk.reporting.trialinfo import ArmInfo, OutcomeInfo, TrialInfo, Variable, VisitInfo

TRIAL = TrialInfo(
    arms=(ArmInfo("IMR", "IMR + TAU", True), ArmInfo("TAU", "TAU alone")),
    visits=(VisitInfo("baseline", "Baseline", 0), VisitInfo("m9", "9 months", 9)),
    outcomes=(OutcomeInfo("gaf_f_m9", "GAF-F", ("m9",), role="primary", instrument="gaf_f"),),
    baseline_variables=(
        Variable("age", "Age", "mean_sd"),
        Variable("sex", "Sex", "categorical"),
        Variable("years", "Years ill", "median_iqr"),
        Variable("baseline_gaf_f", "GAF-F", "mean_sd", instrument="gaf_f"),
    ),
)


@pytest.fixture
def participants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "arm": ["IMR", "IMR", "IMR", "TAU", "TAU", None],  # P6 never randomised: not in the table
            "randomised_on": ["2011-04-01", "2011-04-03", "2011-04-05", "2011-04-02", "2011-04-04", None],
            "age": [30.0, 40.0, 50.0, 20.0, 30.0, 99.0],
            "sex": ["female", "female", "male", "female", None, "male"],
            "years": [1.0, 2.0, 3.0, 4.0, 10.0, 50.0],
        }
    )


@pytest.fixture
def scores() -> pd.DataFrame:
    rows = [
        ("P1", "baseline", 40.0),
        ("P2", "baseline", 44.0),
        ("P3", "baseline", None),
        ("P4", "baseline", 38.0),
        ("P5", "baseline", 42.0),
        ("P1", "m9", 40.0),
        ("P2", "m9", 50.0),
        ("P3", "m9", None),
        ("P4", "m9", 30.0),
        ("P5", "m9", 36.0),
        ("P6", "m9", 99.0),
    ]
    frame = pd.DataFrame(rows, columns=["trial_id", "visit", "value"])
    frame["instrument"], frame["score"] = "gaf_f", "total"
    extra = pd.DataFrame(
        [{"trial_id": "P4", "visit": "m9", "value": 33.0, "instrument": "other", "score": "total"}]
    )
    return pd.concat([frame, extra], ignore_index=True)


def _row(rows, label, level=None):
    return next(r for r in rows if r.label.startswith(label) and r.level == level)


def test_baseline_continuous_by_hand(participants, scores):
    view = arm_view(participants, TRIAL, closed=True)
    rows = baseline_table(participants, scores, TRIAL, view)
    assert [rows[0].cells[k].n for k in ("IMR", "TAU", "__total__")] == [3, 2, 5]
    age = _row(rows, "Age")
    assert age.cells["IMR"].mean == pytest.approx(40.0)
    assert age.cells["IMR"].sd == pytest.approx(10.0)
    # TAU 20, 30: mean 25, SD sqrt(50) = 7.0711
    # all five: mean 34, squared deviations 16 + 36 + 256 + 196 + 16 = 520, SD sqrt(520 / 4) = sqrt(130)
    assert age.cells["TAU"].sd == pytest.approx(math.sqrt(50.0))
    assert age.cells["__total__"].mean == pytest.approx(34.0)
    assert age.cells["__total__"].sd == pytest.approx(math.sqrt(130.0))
    assert age.cells["IMR"].text("mean_sd") == "40.0 (10.0)"
    # 1, 2, 3: median 2, type-7 quartiles at positions 0.5 and 1.5 -> 1.5 and 2.5
    years = _row(rows, "Years ill")
    assert (years.cells["IMR"].median, years.cells["IMR"].q1, years.cells["IMR"].q3) == (2.0, 1.5, 2.5)
    # 1, 2, 3, 4, 10: median 3, quartiles 2 and 4
    assert (years.cells["__total__"].median, years.cells["__total__"].q1, years.cells["__total__"].q3) == (
        3,
        2,
        4,
    )
    assert years.cells["__total__"].text("median_iqr") == "3.0 (2.0–4.0)"
    # baseline GAF-F from the scores table: IMR 40, 44 (P3 missing) -> 42.0, SD 2.83; one not recorded
    gaf = _row(rows, "GAF-F")
    assert gaf.cells["IMR"].n == 2
    assert gaf.cells["IMR"].mean == pytest.approx(42.0)
    assert gaf.cells["IMR"].sd == pytest.approx(math.sqrt(8.0))
    missing = next(r for r in rows[rows.index(gaf) :] if r.level == "not recorded")
    assert (missing.cells["IMR"].count, missing.cells["TAU"].count) == (1, 0)


def test_baseline_categorical_by_hand(participants, scores):
    rows = baseline_table(participants, scores, TRIAL, arm_view(participants, TRIAL, closed=True))
    assert any(r.kind == "header" and r.label == "Sex, n (%)" for r in rows)
    female = _row(rows, "female", "female")
    assert female.cells["IMR"].count == 2
    assert female.cells["IMR"].percent == pytest.approx(200 / 3)
    assert female.cells["TAU"].count == 1
    assert female.cells["TAU"].percent == pytest.approx(100.0)  # of 1 known
    assert female.cells["__total__"].text("categorical") == "3 (75.0 %)"
    sex_missing = next(r for r in rows[rows.index(female) :] if r.level == "not recorded")
    assert (sex_missing.cells["IMR"].count, sex_missing.cells["TAU"].count) == (0, 1)


def test_outcome_table_complete_cases_by_hand(participants, scores):
    view = arm_view(participants, TRIAL, closed=True)
    tables = {"participants": participants, "scores": scores}
    rows = outcome_table(tables, TRIAL, view)
    assert [r.visit for r in rows] == ["baseline", "m9"]
    m9 = rows[1]
    # IMR: 40, 50 (P3 missing): mean 45, SD 7.0711, n 2; TAU: 30, 36: mean 33, SD 4.2426, n 2
    assert (m9.cells["IMR"].n, m9.cells["IMR"].mean) == (2, 45.0)
    assert m9.cells["IMR"].sd == pytest.approx(math.sqrt(50.0))
    assert (m9.cells["TAU"].n, m9.cells["TAU"].mean) == (2, 33.0)
    assert m9.cells["TAU"].sd == pytest.approx(math.sqrt(18.0))
    assert m9.role == "primary"
    assert m9.estimate is None
    assert m9.cells["IMR"].model_mean is None


def test_outcome_table_takes_model_means_and_effect_from_results(participants, scores):
    results = {
        "primary": {
            "outcome": "gaf_f_m9",
            "visit": "m9",
            "estimate": 2.5,
            "ci_low": -1.0,
            "ci_high": 6.0,
            "p": 0.16,
            "contrast": ["IMR", "TAU"],
            "means": {"IMR": {"mean": 44.0, "se": 1.5}, "TAU": {"mean": 41.5, "se": 1.6}},
        }
    }
    tables = {"participants": participants, "scores": scores}
    m9 = outcome_table(tables, TRIAL, arm_view(participants, TRIAL, closed=True), results)[1]
    assert (m9.cells["IMR"].model_mean, m9.cells["IMR"].model_se) == (44.0, 1.5)
    assert m9.estimate["estimate"] == 2.5
    assert fmt_effect(m9.estimate) == "2.5 (−1.0 to 6.0)"
    # Open report with TAU lettered A: the effect is turned round to read A - B.
    opened = arm_view(participants, TRIAL, closed=False, key={"TAU": "A", "IMR": "B"})
    m9_open = outcome_table(tables, TRIAL, opened, results)[1]
    assert opened.codes == ("TAU", "IMR")
    assert (m9_open.estimate["estimate"], m9_open.estimate["ci_low"], m9_open.estimate["ci_high"]) == (
        -2.5,
        -6.0,
        1.0,
    )


def test_ratio_estimates_turn_round_as_reciprocals():
    view = arm_view(None, TRIAL, closed=False, key={"TAU": "A", "IMR": "B"})
    turned = oriented(
        {
            "outcome": "x",
            "visit": "m9",
            "estimate": 0.8,
            "ci_low": 0.5,
            "ci_high": 1.25,
            "scale": "ratio",
            "contrast": ["IMR", "TAU"],
        },
        view,
    )
    assert turned["estimate"] == pytest.approx(1.25)
    assert (turned["ci_low"], turned["ci_high"]) == (pytest.approx(0.8), pytest.approx(2.0))
    assert turned["contrast"] == ["TAU", "IMR"]
