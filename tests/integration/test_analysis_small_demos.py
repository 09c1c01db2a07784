"""Demo trials too small for the whole analysis plan (12 and 24 participants): `trialdesk analyse` and
`trialdesk report` still succeed, estimate what the data carry and say, per result, what could not be
estimated and why (issue 9). At 12 participants no IMR group ever starts, so there is no dose or
fidelity at all; at 24 one group runs. Neither is bad input: exit status 0, nothing on stderr.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from markupsafe import escape

from analysis_demo_support import demo_trial, trialdesk
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.protocol import load_protocol

pytestmark = pytest.mark.django_db

NUMBERS = ("estimate", "ci_low", "ci_high", "p")


@pytest.fixture(scope="module", params=[12, 24])
def demo(request, django_db_setup, django_db_blocker, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"small-demo-{request.param}")
    with demo_trial(django_db_blocker, data_dir, request.param):
        report = str(data_dir / "report")
        yield {
            "n": request.param,
            "json": trialdesk("analyse", "--json"),
            "text": trialdesk("analyse"),
            "open": trialdesk("report", "--out", report, "--json"),
            "closed": trialdesk("report", "--closed", "--user", "statistician", "--out", report, "--json"),
        }


@pytest.fixture(scope="module")
def results(demo):
    ran = demo["json"]
    assert (ran.status, ran.err) == (0, "")
    return json.loads(ran.out)


def _rows(results):
    return [results["primary"], *results["secondary"], *results["sensitivity"]]


def test_every_result_is_estimated_or_says_why_not(demo, results):
    assert results["consort"]["randomised"] == Allocation.objects.count() == demo["n"]
    protocol = load_protocol()
    planned = {(o.code, v) for o in protocol.outcomes if o.role == "secondary" for v in o.visits}
    assert {(e["outcome"], e["visit"]) for e in results["secondary"]} == planned
    unestimated = 0
    for row in [*_rows(results), results["blinding_index"], results["agreement"]]:
        if row["status"] == "not_estimable":
            unestimated += 1
            assert row["reason"].strip() and not set(NUMBERS) & set(row), row
        else:
            assert row["status"] == "estimated", row
            if "estimate" in row:
                assert all(math.isfinite(row[k]) for k in NUMBERS), row
                assert row["ci_low"] <= row["estimate"] <= row["ci_high"] and 0 <= row["p"] <= 1, row
    # Too small for the whole plan, yet not for all of it.
    assert 0 < unestimated == len(results["notes"])
    assert any(row["status"] == "estimated" for row in _rows(results))


def test_the_summary_says_how_many_results_are_not_estimable(demo, results):
    ran = demo["text"]
    assert ran.status == 0 and "Traceback" not in ran.err
    assert f"{len(results['notes'])} result(s) of the plan could not be estimated" in ran.out
    primary = results["primary"]
    if primary["status"] == "not_estimable":
        assert f"primary: gaf_f_m9 at m9: not estimable: {primary['reason']}" in ran.out
    else:
        assert f"primary: gaf_f_m9 at m9: difference {primary['estimate']:.2f}" in ran.out


def test_the_report_marks_each_result_not_estimated_with_its_reason(demo, results):
    count = len(results["notes"])
    pages = {}
    for version in ("open", "closed"):
        ran = demo[version]
        assert (ran.status, ran.err) == (0, ""), version
        written = json.loads(ran.out)
        with open(written["pdf"], "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"
        with open(written["html"], encoding="utf-8") as page:
            pages[version] = page.read()
        assert f"{count} results of the analysis plan could not be estimated" in pages[version]
    reasons = [row["reason"] for row in _rows(results) if row["status"] == "not_estimable"]
    for reason in reasons:  # the closed report gives every reason as the results do
        assert str(escape(reason)) in pages["closed"], reason
    # The open report gives them too, with no arm named: an arm's name would say which letter it is.
    naming = [reason for reason in reasons if re.search(r"\b(IMR|TAU)\b", reason)]
    assert naming  # a small trial has some ("no events in arm TAU", say)
    for reason in naming:
        assert str(escape(reason)) not in pages["open"]
        assert str(escape(re.sub(r"\b(IMR|TAU)\b", "[arm]", reason))) in pages["open"], reason
    arm_label = next(a.label for a in load_protocol().arms if a.code == "TAU")
    assert arm_label in pages["closed"] and arm_label not in pages["open"]
