"""htmx in chromium under the real Content Security Policy: a site coordinator filters the participant
list and answers a query, and only the table or the query's thread is replaced (the page is not reloaded,
keyboard focus stays in place, a status line says what changed). The back button reloads the earlier
list from the server, since no copy of a page is kept in the browser's storage. No console error (a CSP
violation would be one). Screenshots htmx-*.png are kept as CI artefacts."""

import pytest
from playwright.sync_api import expect

from datamanagement_support import install, staff, with_baseline_form
from enrolment_support import TEST_PASSWORD
from trialdesk.apps.datamanagement import queries

from .conftest import screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("personal_data_key", "data_dir"),
]


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(f"{base}/")


def _mark_page(page) -> None:
    """A flag on the window: it survives an htmx update and is gone after any full page load."""
    page.evaluate("window.trialdeskNotReloaded = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.trialdeskNotReloaded === true")


def test_filter_and_answer_update_only_their_region(live_server, page):
    ctx = install()
    people = staff()
    first = with_baseline_form(ctx)
    with_baseline_form(ctx)
    query = queries.raise_query(first, ctx, user=people["dm"], text="Age differs from the CPR date")
    base = live_server.url
    _log_in(page, base, "cora")

    page.goto(f"{base}/participants/")
    assert page.evaluate("typeof window.htmx") == "object"
    rows = page.locator("#participant-results tbody tr")
    expect(rows).to_have_count(2)
    _mark_page(page)
    page.focus("#status")
    page.select_option("#status", "withdrawn")
    expect(page.locator("#live-status")).to_have_text("0 participants.")
    expect(rows).to_have_text(["No participants."])
    assert page.url.endswith("/participants/?site=&status=withdrawn")
    assert _not_reloaded(page)
    assert page.evaluate("document.activeElement.id") == "status"  # focus stays on the filter
    screenshot(page, "htmx-participants-filtered")
    page.go_back()
    expect(rows).to_have_count(2)
    assert page.locator("#status").input_value() == ""
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None

    page.goto(f"{base}/data/queries/{query.pk}/")
    _mark_page(page)
    page.fill("#text", "")
    page.get_by_role("button", name="Answer").click()
    expect(page.locator("#text-error")).to_have_text("an answer is required")
    assert page.locator("#text").get_attribute("aria-invalid") == "true"
    page.fill("#text", "Checked against the interview notes: 34 is right.")
    page.get_by_role("button", name="Answer").click()
    expect(page.locator("#status")).to_have_text("answered")
    expect(page.locator("#live-status")).to_have_text(f"Query #{query.pk} updated.")
    assert "answered by cora" in page.locator("ol.thread").inner_text()
    assert _not_reloaded(page)
    # The Answer button is gone with the open status: focus moves to the updated region, not the top.
    # expect() polls from Playwright's own script world: a wait_for_function string is eval'd in the page,
    # which the Content Security Policy (no 'unsafe-eval') refuses whenever the first check is too early.
    expect(page.locator("#query-work")).to_be_focused()  # once htmx has settled
    query.refresh_from_db()
    assert query.status == "answered"
    screenshot(page, "htmx-query-answered")
    # The refused answer's 400 is the only console line; no CSP violation or script error.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_an_assessment_field_is_checked_as_it_is_typed(live_server, page):
    from assessments_support import baseline_done
    from enrolment_support import install as install_trial
    from enrolment_support import user
    from trialdesk.apps.assessments.models import Assessment

    participant = baseline_done(install_trial())
    user("anna", "assessor", "BAL")
    stored = Assessment.objects.count()
    base = live_server.url
    _log_in(page, base, "anna")
    page.goto(f"{base}/assessments/p/{participant.trial_id}/m9/panss/")
    _mark_page(page)
    field, error = page.locator("#f-P1"), page.locator("#e-P1")
    assert page.evaluate("document.activeElement.id") == "f-P1"  # the keyboard starts on the first item
    page.keyboard.type("9")
    expect(error).to_have_text("panss item P1: 9 is not allowed; allowed values are 1, 2, 3, 4, 5, 6, 7")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("tr.item.invalid")).to_have_count(1)
    assert field.get_attribute("aria-describedby") == "e-P1" and error.get_attribute("aria-live") == "polite"
    assert page.evaluate("document.activeElement.id") == "f-P1"  # typing goes on in the same field
    screenshot(page, "htmx-assessment-field-checked")
    page.keyboard.press("Backspace")
    page.keyboard.type("4")
    expect(error).to_have_text("")
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("tr.item.invalid")).to_have_count(0)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-P2"
    assert _not_reloaded(page)
    assert Assessment.objects.count() == stored  # checking stores nothing
    assert page.console_errors == []
