"""The HTML report: reproducible bytes, open vs closed arm labels, and sections that degrade, never crash."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from trialdesk.reporting import render_html
from trialdesk.reporting.arms import arm_view
from trialdesk.reporting.figures import forest
from trialdesk.reporting.results_schema import clean_results

ARM_WORDS = ("IMR + treatment as usual", "Treatment as usual", "TAU")


def _sections_not_available(html: str) -> list[str]:
    return re.findall(r'<section id="(\w+)">\s*<h2>[^<]*</h2>\s*<p class="na">', html)


def test_same_inputs_give_byte_identical_html(trial_tables, trial_results, trial, closed_html):
    again = render_html(trial_tables, trial_results, closed=True, trial=trial)
    assert again.encode("utf-8") == closed_html.encode("utf-8")


def test_every_section_is_drawn_from_full_inputs(open_html, closed_html):
    assert _sections_not_available(open_html) == []
    assert _sections_not_available(closed_html) == []
    assert "could not be drawn" not in closed_html
    for figure in ("fig-recruitment", "fig-forest", "fig-trajectories", "fig-attendance", "fig-fidelity"):
        assert f'aria-labelledby="{figure}-title {figure}-desc"' in closed_html


def test_open_report_names_no_arm(open_html):
    for word in ARM_WORDS:
        assert word not in open_html, word
    # "IMR" is the trial's and the intervention's name, so it may appear, but never as an arm label
    assert not re.search(r">\s*IMR\s*<", open_html)
    assert "Allocated to Arm A" in open_html
    assert "Allocated to Arm B" in open_html
    assert "OPEN REPORT: arms coded A / B." in open_html


def test_closed_report_names_the_arms(closed_html):
    assert "IMR + treatment as usual" in closed_html
    assert "Treatment as usual" in closed_html
    assert "Arm A" not in closed_html
    assert "CLOSED REPORT" in closed_html


def test_reconciliation_is_reported(closed_html):
    assert "Reconciled: every box adds up." in closed_html


def test_html_is_well_formed_where_it_matters(closed_html):
    # The inline SVGs must parse as XML, and ids must not repeat across figures.
    svgs = re.findall(r"<svg\b.*?</svg>", closed_html, flags=re.S)
    assert len(svgs) == 6
    for svg in svgs:
        ET.fromstring(svg)  # noqa: S314 - our own output
    ids = re.findall(r'\bid="([^"]+)"', closed_html)
    assert len(ids) == len(set(ids))


def test_forest_plot_is_deterministic(trial_results, trial, trial_tables):
    view = arm_view(trial_tables["participants"], trial, closed=True)
    rows = [("GAF-F", trial_results["primary"]), ("admissions", trial_results["secondary"][-1])]
    assert forest(rows, view) == forest(rows, view)


def test_report_without_results_says_not_available(trial_tables, trial):
    html = render_html(trial_tables, None, closed=True, trial=trial)
    assert set(_sections_not_available(html)) == {"primary", "forest", "sensitivity"}
    assert "Not available: the analysis results have no primary outcome." in html
    assert '<th>Data snapshot hash</th><td class="hash">not available</td>' in html


def test_report_with_almost_nothing_still_renders(trial_tables):
    html = render_html({"participants": trial_tables["participants"]}, {}, closed=False)
    missing = set(_sections_not_available(html))
    assert {
        "consort",
        "primary",
        "outcomes",
        "forest",
        "trajectories",
        "delivery",
        "blinding",
        "sensitivity",
    } <= missing
    assert "recruitment" not in missing
    assert "baseline" not in missing
    assert render_html({}, None, closed=True).startswith("<!DOCTYPE html>")


def test_malformed_inputs_are_named_and_skipped(trial_tables, trial_results, trial):
    broken = dict(trial_tables)
    broken["dose"] = trial_tables["dose"].drop(columns=["sessions_attended"])
    results = dict(trial_results)
    results["primary"] = {"outcome": "gaf_f_m9", "visit": "m9", "estimate": "big"}
    results["secondary"] = [*trial_results["secondary"], "not an estimate"]
    html = render_html(broken, results, closed=True, trial=trial)
    assert "table dose: missing column(s) sessions_attended: sections using it are not available" in html
    assert "primary.estimate is &#39;big&#39;, not a finite number: that part is not shown" in html
    assert "secondary[4] is not an object: that row is not shown" in html
    assert "Not available: the analysis results have no primary outcome." in html


def test_clean_results_keeps_good_parts_and_explains_the_rest(trial_results):
    bad = {**trial_results, "blinding_index": {"bang": {"IMR": {"estimate": float("nan")}}}, "consort": 3}
    cleaned, notes = clean_results(bad)
    assert "blinding_index" not in cleaned
    assert "consort" not in cleaned
    assert cleaned["primary"] == trial_results["primary"]
    assert notes == [
        "consort is not an object: that part is not shown",
        "blinding_index.bang.IMR.estimate is nan, not a finite number: that part is not shown",
    ]
    assert clean_results([1, 2]) == ({}, ["analysis results are a list, not an object: ignored"])
