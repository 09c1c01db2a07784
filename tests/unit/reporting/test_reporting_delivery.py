"""Dose, fidelity and blinding summaries, and what the figures describe, against hand counts."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from trialdesk.reporting import figures
from trialdesk.reporting.arms import arm_view
from trialdesk.reporting.delivery import blinding_summary, dose_summary, fidelity_summary
from trialdesk.reporting.trialinfo import ArmInfo, SiteInfo, TrialInfo, VisitInfo

TRIAL = TrialInfo(
    arms=(ArmInfo("IMR", "IMR + TAU", True), ArmInfo("TAU", "TAU alone")),
    sites=(SiteInfo("BAL", "Ballerup", 3), SiteInfo("FRB", "Frederiksberg", 3)),
    target_participants=6,
    visits=(VisitInfo("baseline", "Baseline", 0), VisitInfo("m9", "9 months", 9)),
)


@pytest.fixture
def participants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial_id": [f"P{i}" for i in range(1, 11)],
            "site": ["BAL", "BAL", "FRB", "FRB", "BAL", "FRB", "BAL", "FRB", "BAL", "FRB"],
            "arm": ["IMR"] * 5 + ["TAU"] * 5,
            "randomised_on": [f"2011-04-{d:02d}" for d in range(1, 11)],
        }
    )


def test_dose_by_hand():
    dose = pd.DataFrame(
        {
            "trial_id": ["P1", "P2", "P3", "P4"],
            "sessions_offered": [36, 38, 40, 38],
            "sessions_attended": [0, 10, 20, 30],
            "modules_covered": [0, 3, 6, 11],
            "completer": [False, False, True, True],
        }
    )
    d = dose_summary(dose)
    assert d.participants == 4
    assert d.sessions_offered_median == 38.0
    # 0, 10, 20, 30: median 15, type-7 quartiles 7.5 and 22.5
    assert (d.attended_median, d.attended_q1, d.attended_q3) == (15.0, 7.5, 22.5)
    assert d.attended_none == 1
    assert d.completers == 2
    assert d.modules == {0: 1, 3: 1, 6: 1, 11: 1}


def test_fidelity_by_hand():
    fidelity = pd.DataFrame(
        {
            "rating_id": ["F1", "F2", "F3", "F4", "F5", "F6"],
            "group_id": ["G1", "G1", "G2", "G2", "G1", "G2"],
            "site": ["BAL", "BAL", "FRB", "FRB", "BAL", "FRB"],
            "rater": ["R1", "R1", "R1", "R1", "R2", "R2"],
            "rated_on": ["2011-09-01", "2012-01-01", "2011-09-02", "2012-01-02", "2011-09-01", "2011-09-02"],
            "double_of": [None, None, None, None, "F1", "F3"],
            "score": [4.2, 3.5, 2.8, 4.0, 4.0, 3.0],
            "items": ["x"] * 6,
        }
    )
    f = fidelity_summary(fidelity, TRIAL, None)
    assert (f.ratings, f.groups, f.pairs) == (4, 2, 2)
    assert f.mean == pytest.approx((4.2 + 3.5 + 2.8 + 4.0) / 4)
    assert (f.high, f.moderate, f.low) == (2, 1, 1)  # 4.2 and 4.0 high; 3.5 moderate; 2.8 low
    assert f.agreement["kind"] == "ICC(2,1)"
    assert "computed by the report" in f.agreement_source
    given = {"icc": {"estimate": 0.8, "ci_low": 0.6, "ci_high": 0.9}, "kind": "ICC(2,1)"}
    assert fidelity_summary(fidelity, TRIAL, given).agreement_source == "analysis results"


def test_blinding_table_and_bang_index_by_hand(participants):
    guesses = pd.DataFrame(
        {
            "trial_id": [f"P{i}" for i in range(1, 11)],
            "visit": "m9",
            "guess": ["IMR", "IMR", "IMR", "TAU", "dont_know", "TAU", "TAU", "IMR", "dont_know", "dont_know"],
        }
    )
    view = arm_view(participants, TRIAL, closed=True)
    b = blinding_summary(guesses, participants, view, None)
    assert b.counts[("IMR", "IMR")] == 3
    assert b.counts[("TAU", "IMR")] == 1
    assert b.counts[("dont_know", "IMR")] == 1
    assert b.counts[("TAU", "TAU")] == 2
    assert b.counts[("IMR", "TAU")] == 1
    assert b.counts[("dont_know", "TAU")] == 2
    assert b.total == 10
    # Bang: (correct - incorrect) / n per arm: IMR (3 - 1) / 5 = 0.4; TAU (2 - 1) / 5 = 0.2
    assert b.index["bang"]["IMR"]["estimate"] == pytest.approx(0.4)
    assert b.index["bang"]["TAU"]["estimate"] == pytest.approx(0.2)
    assert b.index_source == "computed by the report from the guesses table"


def _desc(svg: str) -> str:
    return re.search(r"<desc[^>]*>(.*?)</desc>", svg, flags=re.S).group(1)


def test_recruitment_figure_counts(participants):
    svg = figures.recruitment(participants, TRIAL)
    assert _desc(svg) == (
        "Cumulative number randomised over time, 10 in all (Ballerup: 5; Frederiksberg: 5); "
        "target 6. Dotted lines: site targets."
    )


def test_trajectory_figure_means(participants):
    scores = pd.DataFrame(
        {
            "trial_id": ["P1", "P2", "P6", "P7", "P1", "P2", "P6"],
            "visit": ["baseline", "baseline", "baseline", "baseline", "m9", "m9", "m9"],
            "instrument": "gaf_f",
            "score": "total",
            "value": [40.0, 44.0, 38.0, 42.0, 50.0, 46.0, 41.0],
        }
    )
    view = arm_view(participants, TRIAL, closed=True)
    desc = _desc(figures.trajectories(scores, participants, TRIAL, view, [("gaf_f", "total", "GAF-F")]))
    assert "GAF-F, IMR + TAU: Baseline 42.0 (n 2), 9 months 48.0 (n 2)" in desc
    assert "GAF-F, TAU alone: Baseline 40.0 (n 2), 9 months 41.0 (n 1)" in desc
