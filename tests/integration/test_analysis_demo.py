"""`trialdesk analyse --json` and `trialdesk report` on the 198-participant demo trial (issue 9, done when).

The trial is built once for the module by the demo driver through the real services, up to the database
lock and the statistician's unblinded analysis snapshot. The commands run through their entry point. Every
CONSORT number is checked against counts taken straight from the database with the ORM (not from the
snapshot or the code under test), and the boxes must add up.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter

import pytest

from analysis_demo_support import demo_trial, trialdesk
from trialdesk.apps.analysis.models import AnalysisRun
from trialdesk.apps.assessments.models import AllocationGuess, Score
from trialdesk.apps.consent.models import ConsentRecord, Decline, Withdrawal
from trialdesk.apps.datamanagement.models import Lock
from trialdesk.apps.intervention.models import Attendance
from trialdesk.apps.participants.models import Participant, StatusEvent
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.screening.models import Screening
from trialdesk.apps.snapshots.models import Snapshot
from trialdesk.protocol import load_protocol

pytestmark = pytest.mark.django_db

N = 198
ARMS = ("IMR", "TAU")
LOST = {"lost_to_follow_up", "died", "withdrawn"}
SECTIONS = ("consort", "recruitment", "baseline", "primary", "outcomes", "forest", "trajectories", "delivery",
            "blinding", "sensitivity", "provenance")  # fmt: skip


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo trial, analysed twice on its snapshot and reported open and closed."""
    data_dir = tmp_path_factory.mktemp("analysis-demo")
    with demo_trial(django_db_blocker, data_dir, N) as built:
        runs = (trialdesk("analyse", "--json"), trialdesk("analyse", "--json"))
        report = str(data_dir / "report")
        opened = trialdesk("report", "--out", report, "--json")
        closed = trialdesk("report", "--closed", "--user", "statistician", "--out", report, "--json")
        yield {"built": built, "runs": runs, "open": opened, "closed": closed}


@pytest.fixture(scope="module")
def results(demo):
    ran = demo["runs"][0]
    assert (ran.status, ran.err) == (0, "")
    return json.loads(ran.out)


def _ids(query) -> set[int]:
    return set(query.values_list("participant_id", flat=True))


def _allocated() -> dict[str, set[int]]:
    return {arm: _ids(Allocation.objects.filter(arm=arm)) for arm in ARMS}


def _lost_reasons(ids: set[int]) -> Counter[str]:
    """Why allocated participants left follow-up: their current status and the reason of its event."""
    reasons: Counter[str] = Counter()
    intervention_only = _ids(Withdrawal.objects.filter(scope="intervention"))
    for person in Participant.objects.filter(pk__in=ids, status__in=LOST):
        if person.status == "withdrawn" and person.pk in intervention_only:
            continue  # still followed up
        event = StatusEvent.objects.filter(participant=person, to_state=person.status).order_by("at", "id")
        reasons["died" if person.status == "died" else event.last().reason] += 1
    return reasons


def test_consort_numbers_match_the_database_and_add_up(results):
    consort = results["consort"]
    people = Screening.objects.filter(rescreening__isnull=True)  # a person's last screening
    assert consort["screened"] == people.count() == Screening.objects.filter(rescreen_of__isnull=True).count()
    assert consort["eligible"] == people.filter(verdict="eligible").count()
    randomised = StatusEvent.objects.filter(to_state="randomised").values("participant").distinct().count()
    assert consort["randomised"] == randomised == Allocation.objects.count() == N
    allocated = _allocated()
    assert consort["allocated"] == {arm: len(ids) for arm, ids in allocated.items()}
    present = _ids(Attendance.objects.filter(status="present"))
    assert consort["received"] == {"IMR": len(allocated["IMR"] & present), "TAU": len(allocated["TAU"])}
    everything = _ids(Withdrawal.objects.filter(scope__in=("all", "all_data")))
    assert consort["analysed"] == {arm: len(ids - everything) for arm, ids in allocated.items()}
    for arm, ids in allocated.items():
        lost = consort["lost"][arm]
        assert lost["reasons"] == dict(_lost_reasons(ids)), arm
        assert lost["n"] == sum(lost["reasons"].values()) <= len(ids)
        stopped = Withdrawal.objects.filter(scope="intervention", participant_id__in=ids)
        discontinued = consort["discontinued"][arm]
        assert discontinued["n"] == stopped.values("participant").distinct().count() == sum(
            discontinued["reasons"].values()
        )
    # The boxes add up: allocated over arms = randomised; eligible = randomised + declined + consented
    # but never randomised; every allocated participant is analysed (intention to treat) or excluded.
    assert sum(consort["allocated"].values()) == consort["randomised"]
    consented = _ids(ConsentRecord.objects.all())
    never = consented - _ids(Allocation.objects.all())
    assert consort["eligible"] == consort["randomised"] + Decline.objects.count() + len(never)
    assert sum(consort["analysed"].values()) == consort["randomised"] - len(everything & consented)
    assert consort["discontinued"]["TAU"]["n"] == 0 and consort["discontinued"]["IMR"]["n"] > 0
    assert consort["lost"]["IMR"]["n"] > 0 and consort["lost"]["TAU"]["n"] > 0


def test_primary_outcome_with_model_means_per_arm(results):
    primary = results["primary"]
    assert (primary["outcome"], primary["visit"], primary["status"]) == ("gaf_f_m9", "m9", "estimated")
    assert primary["ci_low"] < primary["estimate"] < primary["ci_high"]
    assert 0 <= primary["p"] <= 1
    assert primary["missing_data"]["method"] == "mi" and primary["missing_data"]["m"] == 50
    observed = Score.objects.filter(
        assessment__instrument="gaf_f", assessment__visit__code="m9", assessment__status="complete",
        name="total", value__isnull=False,
    )  # fmt: skip
    for arm in ARMS:
        mean = primary["means"][arm]
        assert 1 <= mean["mean"] <= 100 and 0 < mean["se"] < 5, arm  # GAF-F is 1-100; SE ~ 15 / sqrt(100)
        ids = Allocation.objects.filter(arm=arm).values("participant_id")
        assert mean["n"] == observed.filter(assessment__participant_id__in=ids).count()
    # Equal-weight model means of the two arms differ by the arm effect (same covariates in both arms).
    difference = primary["means"]["IMR"]["mean"] - primary["means"]["TAU"]["mean"]
    assert difference == pytest.approx(primary["estimate"], rel=1e-9)


def test_every_secondary_outcome_of_the_plan_is_estimated(results):
    protocol = load_protocol()
    primary = protocol.primary_outcome.code
    planned = [(o.code, v) for plan in protocol.analysis.plans for o in protocol.outcomes
               if o.code in plan.outcomes and o.code != primary for v in o.visits]  # fmt: skip
    found = [(e["outcome"], e["visit"]) for e in results["secondary"]]
    assert sorted(found) == sorted(planned) and len(found) == len(set(found))
    for e in results["secondary"]:
        assert e["status"] == "estimated", (e["outcome"], e["visit"], e.get("reason"))
        assert e["ci_low"] < e["estimate"] < e["ci_high"] and 0 <= e["p"] <= 1
        assert set(e["means"]) == set(ARMS) or e["model"] != "mmrm"
    assert results["notes"] == []


def test_sensitivity_blinding_index_and_provenance(results):
    analyses = Counter(r["analysis"] for r in results["sensitivity"] if r["outcome"] == "gaf_f_m9")
    assert analyses == {"complete_case": 1, "best_worst": 1, "worst_best": 1, "per_protocol": 1,
                        "tipping_point": 4, "cace": 1}  # fmt: skip
    assert all(r["status"] == "estimated" for r in results["sensitivity"])
    blinding = results["blinding_index"]
    arm_of = dict(Allocation.objects.values_list("participant_id", "arm"))
    guesses = list(AllocationGuess.objects.values_list("participant_id", "guess"))
    assert blinding["guesses"] == len(guesses)
    for arm in ARMS:  # Bang's index: (correct - incorrect) / guesses (Bang et al. 2004, Control Clin Trials)
        mine = [g for p, g in guesses if arm_of[p] == arm]
        other = next(a for a in ARMS if a != arm)
        expected = (mine.count(arm) - mine.count(other)) / len(mine)
        assert blinding["bang"][arm]["estimate"] == pytest.approx(expected, abs=1e-12)
    provenance = results["provenance"]
    snapshot = Snapshot.objects.get(blinded=False)
    lock = Lock.objects.get(scope="database")
    assert provenance["snapshot_hash"] == snapshot.manifest_sha256
    assert provenance["snapshot"]["id"] == snapshot.id
    assert provenance["snapshot"]["database_lock"]["id"] == lock.pk
    assert provenance["snapshot"]["database_lock"]["snapshot"] == lock.snapshot_id
    assert provenance["protocol_hash"] == load_protocol().content_hash == snapshot.protocol_hash
    assert provenance["seeds"]["primary.imputation"] == 20110228
    assert {"numpy", "scipy", "pandas", "statsmodels"} <= set(provenance["packages"])


def test_two_runs_on_the_snapshot_give_byte_identical_json(demo):
    first, second = demo["runs"]
    assert first.out.encode() == second.out.encode() and second.status == 0
    runs = AnalysisRun.objects.order_by("id")
    assert [r.status for r in runs] == ["done", "done"]
    assert {r.results_sha256 for r in runs} == {hashlib.sha256(first.out.encode()).hexdigest()}


def _section(html: str, key: str) -> str:
    found = re.search(rf'<section id="{key}">(.*?)</section>', html, re.S)
    assert found, key
    return found.group(1).replace("\u00a0", " ")


def test_report_open_and_closed_html_and_pdf_hold_every_part(demo, results):
    consort = results["consort"]
    last_run = AnalysisRun.objects.order_by("id").last()
    arm_label = next(a.label for a in load_protocol().arms if a.code == "TAU")
    for ran, name in ((demo["open"], "report-open"), (demo["closed"], "report-closed")):
        assert (ran.status, ran.err) == (0, "")
        written = json.loads(ran.out)
        assert written["run"] == last_run.pk and written["html"].endswith(f"{name}.html")
        with open(written["pdf"], "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"
        with open(written["html"], encoding="utf-8") as page:
            html = page.read()
        for key in SECTIONS:
            assert 'class="na">Not available' not in _section(html, key), (name, key)
        flow = _section(html, "consort")
        for box in (f"Assessed for eligibility (n = {consort['screened']})", f"Randomised (n = {N})",
                    "every box adds up, and the counts agree with the analysis results"):  # fmt: skip
            assert box in flow, (name, box)
        for key in ("consort", "recruitment", "forest", "trajectories", "delivery"):
            assert "<svg" in _section(html, key), (name, key)
        baseline = _section(html, "baseline")
        assert all(f"(n = {n})" in baseline for n in [*consort["allocated"].values(), N])
        assert f"<strong>{N}</strong>" in _section(html, "recruitment")
        outcomes = _section(html, "outcomes")
        assert all(o.label.split(" at ")[0] in outcomes for o in load_protocol().outcomes)
        assert "Sessions attended, median" in _section(html, "delivery")
        assert "Inter-rater reliability ICC(2,1)" in _section(html, "delivery")
        assert "Bang, " in _section(html, "blinding") and "James, both arms" in _section(html, "blinding")
        assert "Tipping point" in _section(html, "sensitivity")
        assert results["provenance"]["snapshot_hash"] in _section(html, "provenance")
        assert "could not be estimated" not in html
        assert (arm_label in html) == (name == "report-closed")  # the open report names no arm
