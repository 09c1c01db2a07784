"""A plan the data cannot fully carry: each result estimated on its own, or not estimable with its reason.

The frame is the simulated 198-participant trial made degenerate on purpose, one way per part: GAF-F
at 21 months observed for one IMR participant only (the primary MI and the 21-month GAF-F model cannot
run), no admissions in the control arm in the first period, no allocation guesses, no double-rated
fidelity sessions. Everything else must still be estimated.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from trialdesk.analysis import run_plan, to_json
from trialdesk.analysis.estimability import NotEstimable, Once, estimate, reason_of
from trialdesk.reporting import render_html
from trialdesk.reporting.results_schema import clean_results
from trialdesk.reporting.trialinfo import from_protocol


@pytest.fixture(scope="module")
def degenerate(tables):
    out = {name: frame.copy() for name, frame in tables.items()}
    arm = out["participants"].set_index("trial_id")["arm"]
    scores = out["scores"]
    gaf_m21 = (scores["instrument"] == "gaf_f") & (scores["visit"] == "m21") & scores["value"].notna()
    imr_rows = scores.index[gaf_m21 & (scores["trial_id"].map(arm) == "IMR")]
    out["scores"] = scores.drop(imr_rows[1:]).reset_index(drop=True)  # one IMR value left
    register = out["register"]
    first = (register["period"] == "baseline-m9") & (register["trial_id"].map(arm) == "TAU")
    register.loc[first, "admissions"] = 0
    out["guesses"] = out["guesses"].iloc[0:0]
    fidelity = out["fidelity"]
    out["fidelity"] = fidelity[fidelity["double_of"].isna()].reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def results(protocol, degenerate):
    return run_plan(protocol, degenerate, seed=11)


def _find(rows, outcome, visit, analysis=None):
    return next(r for r in rows if (r["outcome"], r["visit"], r.get("analysis")) == (outcome, visit,
                                                                                       analysis))


def test_failed_primary_imputation_is_reported_and_its_sensitivity_rows_still_run(results):
    primary = results["primary"]
    assert primary["status"] == "not_estimable"
    assert primary["reason"] == (
        "the multiple imputation failed: column 'm21' has 1 observed value(s) in arm = 'IMR'; "
        "imputation needs at least 2"
    )
    assert not {"estimate", "ci_low", "ci_high", "p", "means"} & set(primary)
    assert (primary["outcome"], primary["visit"], primary["model"]) == ("gaf_f_m9", "m9", "pnm")
    # Rows that need no imputation are estimated from the intact 9-month values.
    for analysis in ("complete_case", "best_worst", "worst_best", "per_protocol", "cace"):
        row = _find(results["sensitivity"], "gaf_f_m9", "m9", analysis)
        assert row["status"] == "estimated", (analysis, row.get("reason"))
        assert row["ci_low"] < row["estimate"] < row["ci_high"] and 0 <= row["p"] <= 1
    tipping = [r for r in results["sensitivity"] if r["analysis"] == "tipping_point"]
    assert [r["status"] for r in tipping] == ["not_estimable"]
    assert "the primary analysis was not estimable" in tipping[0]["reason"]


def test_each_secondary_result_stands_on_its_own(protocol, results):
    planned = {(o.code, v) for o in protocol.outcomes if o.role == "secondary" for v in o.visits}
    assert {(r["outcome"], r["visit"]) for r in results["secondary"]} == planned
    by_status = {(r["outcome"], r["visit"]): r for r in results["secondary"]}
    gaf = by_status[("gaf_f_m21", "m21")]
    assert gaf["status"] == "not_estimable"
    assert gaf["reason"].startswith("MMRM: too few observed values of the outcome at m21 (1 in arm IMR, ")
    admissions = by_status[("admissions", "m9")]
    assert admissions["reason"] == "no events in arm TAU: a rate ratio is not estimable"
    failed = {key for key, r in by_status.items() if r["status"] != "estimated"}
    assert failed == {("gaf_f_m21", "m21"), ("admissions", "m9")}
    for key, r in by_status.items():
        if key not in failed:
            assert r["ci_low"] < r["estimate"] < r["ci_high"], key
            assert 0 <= r["p"] <= 1, key


def test_parts_without_data_say_why(results):
    assert results["blinding_index"] == {
        "status": "not_estimable",
        "reason": "no assessor has recorded a guess of allocation",
    }
    assert results["agreement"] == {
        "status": "not_estimable",
        "reason": "0 session(s) rated twice; inter-rater agreement needs at least 2",
    }


def test_notes_list_every_result_not_estimated_and_only_those(results):
    rows = [results["primary"], *results["secondary"], *results["sensitivity"]]
    unestimated = [r for r in rows if r["status"] == "not_estimable"]
    parts = (results["blinding_index"], results["agreement"])
    unestimated += [p for p in parts if p["status"] != "estimated"]
    assert len(results["notes"]) == len(unestimated)
    for part in unestimated:
        assert sum(note.endswith(f": not estimable: {part['reason']}") for note in results["notes"]) >= 1
    assert all(r["status"] in ("estimated", "not_estimable") for r in rows)


def test_the_document_is_valid_json_and_the_report_shows_each_reason(protocol, degenerate, results):
    text = to_json(results)
    cleaned, dropped = clean_results(json.loads(text))
    assert dropped == []
    assert cleaned["primary"]["status"] == "not_estimable"
    html = render_html(degenerate, json.loads(text), closed=True, trial=from_protocol(protocol))
    count = len(results["notes"])
    assert f"{count} results of the analysis plan could not be estimated from these data" in html
    assert "Not available: Level of functioning (GAF-F) at end of treatment could not be estimated: " in html
    assert "no events in arm TAU: a rate ratio is not estimable" in html
    assert html.count("not estimable") >= count


def test_reasons_in_words_and_warnings_kept_with_the_result():
    notes: list[str] = []

    def singular():
        return {"estimate": float(np.linalg.inv(np.zeros((2, 2)))[0, 0])}

    failed = estimate({"outcome": "x"}, singular, "x at m9", notes)
    assert failed == {"outcome": "x", "status": "not_estimable", "reason": reason_of(np.linalg.LinAlgError())}
    assert failed["reason"].startswith("a matrix of the model is singular")
    assert notes == [f"x at m9: not estimable: {failed['reason']}"]

    def noisy():
        warnings.warn("the optimiser stopped early", RuntimeWarning, stacklevel=1)
        return {"estimate": 1.0, "ci_low": 0.5, "ci_high": 1.5, "p": 0.01}

    kept = estimate({}, noisy, "y", notes)
    assert kept["status"] == "estimated"
    assert kept["warnings"] == ["RuntimeWarning: the optimiser stopped early"]
    nan = estimate({}, lambda: {"estimate": 1.0, "ci_low": math.nan, "p": 0.2}, "z", notes)
    assert nan["reason"] == "the model gave no finite ci_low (the fit did not identify the effect)"


def test_a_shared_computation_runs_once_and_fails_the_same_way_for_every_result():
    calls = []

    def impute():
        calls.append(1)
        raise np.linalg.LinAlgError("Singular matrix")

    shared = Once(impute, "the multiple imputation failed")
    for _ in range(3):
        with pytest.raises(NotEstimable, match=r"^the multiple imputation failed: a matrix of the model is"):
            shared()
    assert len(calls) == 1


def test_one_arm_only_is_a_result_with_every_comparison_not_estimable(protocol, tables):
    """Early in a trial one arm may have nobody yet: nothing compares, the flow is still counted."""
    one_arm = {name: frame.copy() for name, frame in tables.items()}
    people = one_arm["participants"]
    people["arm"] = people["arm"].where(people["arm"] == "IMR", None)
    results = run_plan(protocol, one_arm, seed=1)
    assert results["consort"]["allocated"] == {"IMR": int((people["arm"] == "IMR").sum())}
    rows = [results["primary"], *results["secondary"], *results["sensitivity"]]
    assert rows and all(r["status"] == "not_estimable" for r in rows)
    assert results["primary"]["reason"].endswith(" in arm IMR, 0 in arm TAU); each arm needs at least 2")
    assert len(results["notes"]) >= len(rows)
