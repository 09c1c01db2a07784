"""A participant completes their questionnaires through a one-time link on a phone-sized touch screen,
without logging in; the link then refuses reuse."""

import datetime as dt

import pytest

from assessments_support import BASELINE_ON, complete, consented
from enrolment_support import TEST_KEY, install
from trialdesk.apps.assessments import services
from trialdesk.apps.assessments.models import Assessment, Score
from trialdesk.apps.participants import keys

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
ASHS = {"1": 6, "2": 7, "3": 5, "4": 8, "5": 4, "6": 6}  # total 36; agency 2+4+6 = 21, pathways 1+3+5 = 15
AUDIT = {"1": 2, "2": 1, "3": 0, "4": 0, "5": 1, "6": 0, "7": 0, "8": 0, "9": 2, "10": 4}  # total 10


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    yield page
    context.close()


def _answer(page, values):
    for code, value in values.items():
        choice = page.locator(f'input[name="item_{code}"][value="{value}"]')
        label = page.locator("label.answer", has=choice)
        box = label.bounding_box()
        assert box is not None
        assert box["height"] >= 48  # a thumb-sized target
        assert box["width"] >= 300  # the whole row, not a tiny radio button
        label.tap()
        assert choice.is_checked()


def test_a_participant_completes_questionnaires_on_a_phone(live_server, phone, monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    ctx = install()
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    _, token = services.issue(participant, "baseline", ["ashs", "audit"], ctx, valid_for=dt.timedelta(days=2))
    link = f"{live_server.url}/r/{token}/"

    phone.goto(link)
    assert phone.get_by_role("heading", name="Your questionnaires").is_visible()
    assert participant.trial_id not in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    phone.get_by_role("link", name="ASHS").tap()
    phone.wait_for_url(f"{link}ashs/")
    _answer(phone, ASHS)
    screenshot(phone, "self-report-phone-ashs")
    phone.get_by_role("button", name="Send answers").tap()
    phone.wait_for_url(link)
    assert phone.get_by_role("link", name="ASHS").count() == 0  # done forms leave the list
    phone.get_by_role("link", name="AUDIT").tap()
    phone.wait_for_url(f"{link}audit/")
    assert phone.locator('input[name="item_9"]').count() == 3  # weighted item: only 0, 2, 4 offered
    _answer(phone, AUDIT)
    phone.get_by_role("button", name="Send answers").tap()
    phone.wait_for_url(f"{live_server.url}/r/done/")
    assert phone.get_by_role("heading", name="Thank you").is_visible()

    scores = {(s.assessment.instrument, s.name): s.value for s in Score.objects.select_related("assessment")}
    assert scores[("ashs", "total")] == 36
    assert scores[("ashs", "agency")] == 21
    assert scores[("ashs", "pathways")] == 15
    assert scores[("audit", "total")] == 10
    assert set(Assessment.objects.filter(source="link").values_list("instrument", flat=True)) == {
        "ashs",
        "audit",
    }

    assert phone.console_errors == []
    response = phone.goto(link)
    assert response.status == 410
    assert phone.get_by_role("heading", name="This link has already been used").is_visible()
    again = phone.goto(f"{link}audit/")
    assert again.status == 410
    screenshot(phone, "self-report-phone-reused")
    assert Assessment.objects.filter(source="link").count() == 2
    # The browser reports the two refusals it was given, and nothing else.
    assert all("status of 410" in error for error in phone.console_errors)
