"""CONSORT counts on a hand-built trial of ten screened people, every count worked out by hand."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections import Counter

import pandas as pd
import pytest

from trialdesk import datasets
from trialdesk.reporting.arms import arm_view
from trialdesk.reporting.consort import count_consort, reconcile
from trialdesk.reporting.consort_svg import consort_svg
from trialdesk.reporting.trialinfo import ArmInfo, TrialInfo

TRIAL = TrialInfo(
    title="Hand-built",
    arms=(ArmInfo("IMR", "IMR + treatment as usual", True), ArmInfo("TAU", "Treatment as usual")),
)


def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in datasets.TABLES[name].column_names:
        if column not in frame.columns:
            frame[column] = None
    return datasets.check(name, frame)


def hand_built() -> dict[str, pd.DataFrame]:
    # Ten people: S01 ineligible (E3) then re-screened eligible as S11 and randomised (P1);
    # S02 ineligible for two criteria; S03 ineligible (E4); S04 declined (burden); S05 declined (no reason);
    # S06 consented, withdrew before randomisation (P7); S07..S10 and S11 randomised (P1..P6 below).
    screening = [
        {
            "screening_id": "S01",
            "site": "BAL",
            "screened_on": "2011-03-01",
            "eligible": False,
            "reasons": "E3",
        },
        {
            "screening_id": "S02",
            "site": "BAL",
            "screened_on": "2011-03-02",
            "eligible": False,
            "reasons": "E4;E5",
        },
        {
            "screening_id": "S03",
            "site": "FRB",
            "screened_on": "2011-03-03",
            "eligible": False,
            "reasons": "E4",
        },
        {
            "screening_id": "S04",
            "site": "FRB",
            "screened_on": "2011-03-04",
            "eligible": True,
            "consented": False,
            "decline_reason": "burden",
        },
        {
            "screening_id": "S05",
            "site": "BAL",
            "screened_on": "2011-03-05",
            "eligible": True,
            "consented": False,
        },
        {
            "screening_id": "S06",
            "site": "BAL",
            "screened_on": "2011-03-06",
            "eligible": True,
            "consented": True,
            "trial_id": "P7",
        },
        {
            "screening_id": "S07",
            "site": "BAL",
            "screened_on": "2011-03-07",
            "eligible": True,
            "consented": True,
            "trial_id": "P2",
        },
        {
            "screening_id": "S08",
            "site": "FRB",
            "screened_on": "2011-03-08",
            "eligible": True,
            "consented": True,
            "trial_id": "P3",
        },
        {
            "screening_id": "S09",
            "site": "FRB",
            "screened_on": "2011-03-09",
            "eligible": True,
            "consented": True,
            "trial_id": "P4",
        },
        {
            "screening_id": "S10",
            "site": "BAL",
            "screened_on": "2011-03-10",
            "eligible": True,
            "consented": True,
            "trial_id": "P5",
        },
        {
            "screening_id": "S11",
            "site": "BAL",
            "screened_on": "2011-06-01",
            "eligible": True,
            "consented": True,
            "trial_id": "P1",
            "rescreen_of": "S01",
        },
        {
            "screening_id": "S12",
            "site": "FRB",
            "screened_on": "2011-03-12",
            "eligible": True,
            "consented": True,
            "trial_id": "P6",
        },
    ]
    arms = {"P1": "IMR", "P2": "IMR", "P3": "IMR", "P4": "TAU", "P5": "TAU", "P6": "TAU"}
    scope = {"P3": "intervention", "P4": "data_collection", "P5": "all_data"}
    participants = [
        {
            "trial_id": t,
            "site": "BAL",
            "diagnosis": "schizophrenia",
            "arm": a,
            "randomised_on": f"2011-04-0{i + 1}",
            "status": "x",
            "withdrawal_scope": scope.get(t),
        }
        for i, (t, a) in enumerate(arms.items())
    ]
    participants.append(
        {"trial_id": "P7", "site": "BAL", "diagnosis": "bipolar", "arm": None, "status": "withdrawn"}
    )
    events = [{"trial_id": t, "to_state": "randomised", "on": "2011-04-01"} for t in arms]
    events += [
        {"trial_id": "P7", "to_state": "consented", "on": "2011-03-06"},
        {"trial_id": "P7", "to_state": "withdrawn", "on": "2011-03-08", "reason": "changed mind"},
        {"trial_id": "P1", "to_state": "lost_to_follow_up", "on": "2011-12-01", "reason": "not reachable"},
        {"trial_id": "P1", "to_state": "in_follow_up", "on": "2012-02-01"},  # found again
        {"trial_id": "P1", "to_state": "completed", "on": "2013-01-01"},
        {"trial_id": "P2", "to_state": "lost", "on": "2012-01-01", "reason": "moved away"},
        {"trial_id": "P3", "to_state": "in_follow_up", "on": "2011-09-01"},  # scope intervention: stays
        {"trial_id": "P4", "to_state": "withdrawn", "on": "2011-10-01", "reason": "data_collection"},
        {"trial_id": "P5", "to_state": "withdrawn", "on": "2011-10-01", "reason": "all_data"},
        {"trial_id": "P6", "to_state": "died", "on": "2012-02-01"},
    ]
    dose = [
        {"trial_id": "P1", "sessions_offered": 38, "sessions_attended": 20},
        {"trial_id": "P2", "sessions_offered": 38, "sessions_attended": 0},
    ]  # P3 never placed in a group
    scores = [
        {"trial_id": t, "visit": "m9", "instrument": "gaf_f", "score": "total", "value": v}
        for t, v in (("P1", 50.0), ("P2", None), ("P3", 45.0), ("P4", 40.0), ("P6", 38.0))
    ]
    return {
        "screening": _frame("screening", screening),
        "participants": _frame("participants", participants),
        "status_events": _frame("status_events", events),
        "dose": _frame("dose", dose),
        "scores": _frame("scores", scores),
    }


def _texts(svg: str) -> str:
    """All text of the diagram, wrapped lines joined by a space, no-break spaces as spaces."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")).replace(
        "\u00a0", " "
    )


@pytest.fixture
def counts():
    return count_consort(hand_built(), intervention_arms={"IMR"}, primary=("gaf_f", "total", "m9"))


def test_enrolment_counts_by_hand(counts):
    assert counts.screenings == 12
    assert counts.assessed == 11  # S01 and S11 are one person
    assert counts.not_meeting == 2  # S02, S03 (S01 became eligible on re-screening)
    assert counts.not_meeting_by_criterion == Counter({"E4": 2, "E5": 1})
    assert counts.declined == Counter({"burden": 1, "not recorded": 1})
    assert counts.other == Counter({"not randomised (last status: withdrawn)": 1})
    assert counts.excluded == 5
    assert counts.randomised == 6
    assert counts.randomised_in_screening == 6


def test_arm_counts_by_hand(counts):
    imr, tau = counts.arms["IMR"], counts.arms["TAU"]
    assert (imr.allocated, tau.allocated) == (3, 3)
    assert imr.received == 1  # only P1 attended a session
    assert imr.not_received == Counter(
        {"placed in a group, attended no session": 1, "never placed in a group": 1}
    )
    assert tau.received == 3
    assert not tau.not_received
    assert imr.lost == Counter({"moved away": 1})  # P1 was lost, then found again
    assert imr.discontinued == Counter({"withdrew from the intervention": 1})
    assert tau.lost == Counter(
        {"withdrew from data collection": 1, "withdrew consent to all use of data": 1, "died": 1}
    )
    assert (imr.analysed, tau.analysed) == (3, 2)  # P5 withdrew all use of data
    assert tau.excluded_from_analysis == Counter({"withdrew consent to all use of data": 1})
    assert (imr.primary_observed, tau.primary_observed) == (2, 2)  # P1, P3 / P4, P6


def test_consistent_counts_reconcile(counts):
    assert reconcile(counts) == []
    assert reconcile(counts, counts.to_dict()) == []


def test_an_inconsistent_count_is_flagged(counts):
    counts.arms["IMR"] = dataclasses.replace(counts.arms["IMR"], allocated=4)
    problems = reconcile(counts)
    assert any("randomised (6) != sum of allocated over arms (7)" in p for p in problems)
    assert any("arm IMR: received (1) + did not receive (2) != allocated (4)" in p for p in problems)


def test_enrolment_mismatch_is_flagged(counts):
    counts.not_meeting += 1
    assert any(p.startswith("assessed for eligibility (11) != excluded (6)") for p in reconcile(counts))


def test_disagreement_with_the_analysis_results_is_flagged(counts):
    reported = counts.to_dict()
    reported["randomised"] = 7
    reported["lost"] = {"TAU": {"n": 2, "reasons": {}}}
    problems = reconcile(counts, reported)
    assert "analysis results give randomised = 7, the events give 6" in problems
    assert "analysis results give lost = 2 in arm TAU, the events give 3" in problems


def test_svg_is_well_formed_and_accessible(counts):
    svg = consort_svg(counts, arm_view(hand_built()["participants"], TRIAL, closed=True))
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "CONSORT 2025 flow diagram"
    desc = root.find(f"{ns}desc").text
    assert "11 assessed for eligibility; 5 excluded" in desc
    assert "IMR + treatment as usual: 3 allocated, 1 received the allocated intervention" in desc
    texts = _texts(svg)
    assert "Randomised (n = 6)" in texts
    assert "Did not receive allocated intervention (n = 2)" in texts
    assert len(list(root.iter(f"{ns}rect"))) >= 4 + 3 * 2  # phase labels + enrolment boxes + 3 rows x 2 arms


def test_open_svg_hides_arm_names_and_intervention_only_counts(counts):
    svg = consort_svg(counts, arm_view(hand_built()["participants"], TRIAL, closed=False))
    assert "IMR" not in svg
    assert "Treatment as usual" not in svg
    assert "Allocated to Arm A" in svg
    assert "Allocated to Arm B" in svg
    assert "Received allocated intervention: shown in the closed report" in _texts(svg)
    assert "received the allocated intervention" not in svg


def test_mismatches_are_announced_on_the_diagram(counts):
    svg = consort_svg(counts, arm_view(hand_built()["participants"], TRIAL, closed=True), problems=["x"])
    assert "The counts do not reconcile: 1 mismatch(es)" in svg


def test_intervention_arm_is_inferred_from_dose_when_not_given():
    tables = hand_built()
    tables["participants"]["arm"] = tables["participants"]["arm"].map({"IMR": "A", "TAU": "B"})
    counts = count_consort(tables)
    assert counts.arms["A"].receives_intervention
    assert not counts.arms["B"].receives_intervention
    assert counts.arms["A"].received == 1
