"""A full PANSS entered with the keyboard alone in chromium: digits and Tab, then Complete; the score shows.

The time from the first rating typed to the score on screen is printed (pytest -s) as the measured entry
speed; it is not asserted (speed targets are measured, never asserted in tests).
"""

import re
import time

import pytest

from assessments_support import consented
from enrolment_support import TEST_KEY, TEST_PASSWORD, install, user
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.participants import keys

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

POSITIVE = [1, 2, 3, 4, 5, 6, 7]  # 28
NEGATIVE = [7, 6, 5, 4, 3, 2, 1]  # 28
GENERAL = [2, 3] * 8  # 8 x 2 + 8 x 3 = 40
# Worked by hand: 28 + 28 + 40.
TOTAL, SUBSCALES = 96, {"positive": 28, "negative": 28, "general": 40}


def test_a_full_panss_by_keyboard(live_server, page, monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    participant = consented(install())
    user("anna", "assessor", "BAL")
    page.goto(f"{live_server.url}/login/")
    page.keyboard.type("anna")
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/assessments/p/{participant.trial_id}/baseline/panss/")
    assert page.evaluate("document.activeElement.name") == "item_P1"  # focus starts on the first item

    started = time.perf_counter()
    for rating in POSITIVE + NEGATIVE + GENERAL:
        page.keyboard.type(str(rating))
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Save draft"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Complete"
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-score="total"]')
    elapsed = time.perf_counter() - started
    print(f"\nPANSS, 30 items by keyboard to score on screen: {elapsed:.2f} s")

    total = page.locator('[data-score="total"]').inner_text()
    assert re.match(rf"{TOTAL}\b", total)
    for name, value in SUBSCALES.items():
        assert re.match(rf"{value}\b", page.locator(f'[data-score="{name}"]').inner_text())
    stored = Assessment.objects.get(instrument="panss")
    assert stored.status == "complete"
    assert stored.values() == dict(zip([f"P{n}" for n in range(1, 8)] + [f"N{n}" for n in range(1, 8)]
                                       + [f"G{n}" for n in range(1, 17)], POSITIVE + NEGATIVE + GENERAL,
                                       strict=True))  # fmt: skip
    screenshot(page, "panss-keyboard-complete")
    assert page.console_errors == []
