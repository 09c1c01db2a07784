"""run_plan on a simulated 198-participant trial: shape, independent refits, CONSORT, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trialdesk.analysis import frames, run_plan, to_json
from trialdesk.analysis.primary import fill_groups, prepare
from trialdesk.reporting.consort import count_consort, reconcile
from trialdesk.reporting.results_schema import clean_results
from trialdesk.stats import fit_pnm, impute, pool

FORMULA = "y ~ C(arm, Treatment('TAU')) + y0 + C(site, Sum) + C(diagnosis, Sum)"
TERM = "C(arm, Treatment('TAU'))[T.IMR]"


def test_results_fit_the_report_schema(results):
    cleaned, notes = clean_results(json.loads(to_json(results)))
    assert notes == []
    assert set(cleaned) == {"consort", "primary", "secondary", "sensitivity", "blinding_index", "agreement",
                            "provenance"}
    primary = results["primary"]
    assert (primary["outcome"], primary["visit"], primary["model"]) == ("gaf_f_m9", "m9", "pnm")
    assert primary["ci_low"] < primary["estimate"] < primary["ci_high"]
    assert set(primary["means"]) == {"IMR", "TAU"}
    assert primary["missing_data"]["m"] == 5


def test_primary_equals_an_independent_mi_fit(protocol, tables, results):
    """Impute with the same seed and columns, fit each data set with fit_pnm, pool with stats.pool."""
    frame = frames.itt(tables)
    wide = frames.with_scores(frame, tables, "gaf_f", "total", ["baseline", "m9", "m21"])
    seed = protocol.analysis.plans[0].missing_data.seed
    imputation = impute(wide, ["baseline", "m9", "m21"], ["site", "diagnosis"], m=5, by="arm", seed=seed)
    arms = frames.Arms("IMR", "TAU")
    fits = [fit_pnm(fill_groups(prepare(d, "m9", "baseline"), arms), FORMULA, group="group", arm="arm",
                    treated="IMR", df="none") for d in imputation.completed()]
    pooled = pool(fits).coef(TERM)
    primary = results["primary"]
    assert primary["estimate"] == pytest.approx(float(pooled["estimate"]), rel=1e-6)
    assert primary["se"] == pytest.approx(float(pooled["se"]), rel=1e-5)
    assert primary["p"] == pytest.approx(float(pooled["p"]), rel=1e-4)
    assert primary["n"] == len(frame)
    observed = wide.groupby("arm")["m9"].count()
    assert {a: m["n"] for a, m in primary["means"].items()} == observed.to_dict()


def test_complete_case_row_equals_a_direct_fit(tables, results):
    frame = frames.itt(tables)
    wide = frames.with_scores(frame, tables, "gaf_f", "total", ["baseline", "m9", "m21"])
    data = fill_groups(prepare(wide, "m9", "baseline"), frames.Arms("IMR", "TAU")).dropna(subset=["y"])
    direct = fit_pnm(data, FORMULA, group="group", arm="arm", treated="IMR").coef(TERM)
    row = next(r for r in results["sensitivity"] if r["analysis"] == "complete_case" and r["visit"] == "m9"
               and r["outcome"] == "gaf_f_m9")
    assert row["estimate"] == pytest.approx(float(direct["estimate"]), rel=1e-9)
    assert row["ci_low"] == pytest.approx(float(direct["ci_low"]), rel=1e-9)
    analyses = [r["analysis"] for r in results["sensitivity"] if r["outcome"] == "gaf_f_m9"]
    assert analyses[:4] == ["complete_case", "best_worst", "worst_best", "per_protocol"]
    assert analyses.count("tipping_point") == 4 and analyses[-1] == "cace"


def test_consort_adds_up_and_matches_hand_counts(tables, results):
    consort = results["consort"]
    events, participants = tables["status_events"], tables["participants"]
    randomised = set(events.loc[events["to_state"] == "randomised", "trial_id"])
    assert consort["randomised"] == len(randomised) == 198
    assert consort["allocated"] == participants["arm"].value_counts().to_dict()
    assert sum(consort["allocated"].values()) == consort["randomised"]
    assert reconcile(count_consort(tables, intervention_arms={"IMR"}), consort) == []
    dose = tables["dose"]
    assert consort["received"]["IMR"] == int((dose["sessions_attended"] >= 1).sum())
    # Everybody is analysed by intention to treat unless they withdrew consent to all use of data.
    scope = participants["withdrawal_scope"].fillna("")
    for arm in ("IMR", "TAU"):
        allocated = participants["arm"] == arm
        assert consort["analysed"][arm] == int((allocated & ~scope.isin(["all", "all_data"])).sum())


def test_secondary_outcomes_at_each_visit(protocol, results):
    found = {(e["outcome"], e["visit"]) for e in results["secondary"]}
    for outcome in protocol.outcomes:
        if outcome.role == "secondary":
            for visit in outcome.visits:
                assert (outcome.code, visit) in found
    panss = next(e for e in results["secondary"] if (e["outcome"], e["visit"]) == ("panss", "m21"))
    assert panss["model"] == "mmrm"
    assert panss["means"]["IMR"]["mean"] - panss["means"]["TAU"]["mean"] == pytest.approx(panss["estimate"])
    register = next(e for e in results["secondary"] if e["outcome"] == "admissions")
    assert register["scale"] == "ratio" and register["ci_low"] < register["estimate"] < register["ci_high"]


def test_blinding_index_from_hand_counted_guesses(tables, results):
    arm = tables["participants"].set_index("trial_id")["arm"]
    guesses = tables["guesses"].assign(arm=lambda g: g["trial_id"].map(arm))
    imr = guesses[guesses["arm"] == "IMR"]
    n, correct, wrong = len(imr), int((imr["guess"] == "IMR").sum()), int((imr["guess"] == "TAU").sum())
    # Bang's index of an arm: (correct - incorrect) / n (Bang et al. 2004, Control Clin Trials 25:143).
    assert results["blinding_index"]["bang"]["IMR"]["estimate"] == pytest.approx((correct - wrong) / n)
    assert 0 <= results["blinding_index"]["james"]["estimate"] <= 1
    assert results["agreement"]["pairs"] == int(tables["fidelity"]["double_of"].notna().sum())


def test_provenance(results):
    provenance = results["provenance"]
    assert provenance["snapshot_hash"] == "abc123"
    assert set(provenance["packages"]) >= {"numpy", "scipy", "pandas", "statsmodels"}
    assert provenance["seeds"]["primary.imputation"] == 20110228
    assert provenance["seeds"]["run"] == 11


def test_same_tables_and_seed_give_identical_bytes(protocol, tables, results):
    again = run_plan(protocol, {k: v.copy() for k, v in tables.items()}, seed=11, snapshot_hash="abc123")
    assert to_json(again).encode() == to_json(results).encode()


def test_blinded_tables_are_refused_with_a_reason(protocol, tables):
    letters = {"IMR": "B", "TAU": "A"}
    blinded = {k: v.copy() for k, v in tables.items() if k != "dose"}
    blinded["participants"]["arm"] = blinded["participants"]["arm"].map(letters)
    blinded["participants"]["group_id"] = None
    from trialdesk.errors import UserError

    with pytest.raises(UserError, match="unblinded snapshot"):
        run_plan(protocol, blinded, seed=1)


def test_to_json_has_no_nan():
    text = to_json({"a": float("nan"), "b": np.float64(1.5), "c": [np.int64(2)], "d": pd.NA is None})
    assert json.loads(text) == {"a": None, "b": 1.5, "c": [2], "d": False}
