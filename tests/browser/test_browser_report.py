"""The trial report of a simulated 198-participant trial, analysed by the plan, in a real browser.

The report is one self-contained HTML file (styles and figures inline), opened as a file as a DMC
member would open it; the PDF is written from the same HTML.
"""

from __future__ import annotations

import pytest

from trialdesk import datasets
from trialdesk.analysis import run_plan
from trialdesk.protocol import load_protocol
from trialdesk.reporting import render_report
from trialdesk.reporting.trialinfo import from_protocol
from trialdesk.simulation.trial import simulate_trial

from .conftest import screenshot


def _few_imputations(protocol, m: int = 5):
    plans = tuple(
        p.model_copy(update={"missing_data": p.missing_data.model_copy(update={"imputations": m})})
        if p.missing_data.method == "mi" else p
        for p in protocol.analysis.plans
    )
    return protocol.model_copy(update={"analysis": protocol.analysis.model_copy(update={"plans": plans})})


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    protocol = _few_imputations(load_protocol())
    trial = simulate_trial(protocol, seed=9)
    tables = {name: datasets.check(name, getattr(trial, name)) for name in datasets.TABLES}
    results = run_plan(protocol, tables, seed=3)
    out = tmp_path_factory.mktemp("report")
    return render_report(tables, results, out, closed=True, trial=from_protocol(protocol)), results


def test_report_renders_without_console_errors_and_the_pdf_is_written(report, page):
    paths, results = report
    page.goto(paths.html.as_uri())
    consort = page.locator("section#consort")
    assert consort.locator("svg").count() >= 1
    assert str(results["consort"]["randomised"]) in consort.inner_text()
    outcomes = page.locator("section#outcomes table").first
    assert outcomes.is_visible()
    assert "GAF-F" in page.locator("section#primary").inner_text()
    for name, locator in (("report-consort", consort), ("report-outcomes-table", outcomes)):
        path = screenshot(page, name)
        locator.screenshot(path=str(path.with_name(f"{name}-element.png")))
        assert path.stat().st_size > 0
    assert page.console_errors == []
    assert paths.pdf is not None and paths.pdf.read_bytes()[:5] == b"%PDF-"


def test_a_report_with_results_not_estimable_renders_and_says_why(tmp_path, page):
    """Twelve participants, no IMR group: the plan runs as far as the data allow, the report says the rest."""
    protocol = _few_imputations(load_protocol())
    trial = simulate_trial(protocol, n_participants=12, seed=9)
    tables = {name: datasets.check(name, getattr(trial, name)) for name in datasets.TABLES}
    results = run_plan(protocol, tables, seed=3)
    paths = render_report(tables, results, tmp_path, closed=True, trial=from_protocol(protocol), pdf=False)
    page.goto(paths.html.as_uri())
    summary = page.locator("#unestimated")
    assert summary.is_visible()
    assert summary.inner_text().startswith(f"{len(results['notes'])} results of the analysis plan")
    assert page.locator("section#sensitivity td.na").count() == sum(
        r["status"] == "not_estimable" for r in results["sensitivity"]
    )
    screenshot(page, "report-not-estimable")
    assert page.console_errors == []
