"""Every demo role's home page in a real browser on a small two-site trial (tests/web_support.py): each
shows its role's panels, the navigation holds exactly the sections the role may open, the keyboard
reaches the skip link first and the main content next, and no console error. Screenshots of each home
page are kept as CI artefacts (artifacts/screenshots/today-<login>.png)."""

import pytest
from django.conf import settings
from django.urls import reverse

import web_support
from enrolment_support import TEST_KEY
from trialdesk.apps.participants import keys
from trialdesk.apps.trial.demo import DEMO_PASSWORD, DEMO_STAFF
from trialdesk.web.access import NAV

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

#: A panel title each role's home page must show.
PANEL = {
    "coordinator": "Participants waiting for a step",
    "assessor": "Open visits, soonest-closing first",
    "facilitator": "Next sessions",
    "fidelity": "Groups not yet rated",
    "datamanager": "Unresolved queries, oldest first",
    "statistician": "Analysis runs",
    "investigator": "Casebooks to sign",
    "monitor": "Forms awaiting source-data verification",
    "admin": "Staff by role",
}


def _log_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


def test_each_role_sees_its_own_home_page(live_server, page, monkeypatch, tmp_path):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    trial = web_support.build()
    users = trial.users()
    for login in DEMO_STAFF:
        if login.username not in PANEL:
            continue
        _log_in(page, live_server.url, login.username)
        assert page.get_by_role("heading", name=PANEL[login.username]).is_visible(), login.username
        if login.username == "coordinator":
            # at Ballerup: one person awaiting consent, one awaiting baseline (tests/web_support.py)
            assert page.locator(".count-badge").first.inner_text() == "2"
        shown = page.locator("nav.main-nav a").all_inner_texts()
        expected = [s.label for s in NAV if s.rule.allows(users[login.username])]
        assert shown == expected, login.username
        screenshot(page, f"today-{login.username}")
    assert page.console_errors == []


def test_keyboard_order_and_table_sorting(live_server, page, monkeypatch, tmp_path):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    web_support.build()
    _log_in(page, live_server.url, "datamanager")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # A long table sorts by a column when its header button is pressed, and says so to screen readers.
    page.goto(f"{live_server.url}{reverse('participants:list')}")
    header = page.locator("main table thead th").first
    header.locator("button.sort").click()
    assert header.get_attribute("aria-sort") == "ascending"
    ids = page.locator("main table tbody tr td:first-child").all_inner_texts()
    assert ids == sorted(ids)
    header.locator("button.sort").press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    assert page.locator("main table tbody tr td:first-child").all_inner_texts() == sorted(ids, reverse=True)
    # ... and filters: typing a trial id leaves its row alone.
    page.fill(".table-filter input", ids[0])
    visible = page.locator("main table tbody tr:visible td:first-child").all_inner_texts()
    assert visible == [ids[0]]
    screenshot(page, "participants-sorted-filtered")
    assert page.console_errors == []
