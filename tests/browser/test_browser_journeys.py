"""The trial's main journey in chromium, each step by the role that does it, with real clicks and typing:

coordinator screens a person, records consent, randomises (confirmation step) and places the IMR participant
in a group made at the site; nine months later the assessor enters the end-of-treatment forms; the data
manager raises a query on the 9-month GAF-F, the site coordinator answers it and the data manager closes it.

Set-up that is not part of the journey goes through the services: the protocol, staff accounts, the
allocation list (hand-written, so the first slot of the participant's stratum is known to be IMR) and the
baseline forms, dated on the day of consent. The clock (trialdesk.clock) is process-wide, so freezing it
here also freezes the live server's thread: the 9-month visit is open when the clock is moved 9 months on.
Each step's outcome is checked on screen and in the database; screenshots journey-NN-<step>.png are kept as
CI artefacts (artifacts/screenshots/); no console error on any page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

import intervention_support as imr
from assessments_support import complete_visit
from enrolment_support import TEST_KEY, TEST_PASSWORD, install, install_rows, user
from trialdesk import clock
from trialdesk.apps.assessments.formspec import build
from trialdesk.apps.assessments.models import AllocationGuess, Assessment
from trialdesk.apps.consent.models import ConsentRecord
from trialdesk.apps.datamanagement.models import Query
from trialdesk.apps.intervention.models import Group, GroupMembership
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.instruments import get_library
from trialdesk.protocol import load_protocol

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

#: Screening, consent and randomisation on Tuesday 7 January 2025; the group meets on Tuesdays from the 14th.
DAY_ONE = dt.datetime(2025, 1, 7, 10, 0, tzinfo=dt.UTC)
GROUP_START = "2025-01-14"
#: Nine months after the baseline: the end-of-treatment visit's target day (window +- 1 month).
MONTH_NINE = dt.datetime(2025, 10, 7, 10, 0, tzinfo=dt.UTC)
BAD_REQUEST = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
NAME = "Hans Hansen"
CPR = "070385-1234"  # born 7 March 1985 (7th digit 1: 1900s), aged 39 on day one


def _log_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    # Typed into the fields found by name: typing before autofocus lands lost keys on a busy machine.
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(f"{base}/")


@pytest.fixture
def journey_page(page, request):
    """The page, with a screenshot of wherever the journey stopped if a step fails (for the CI artefacts).

    The call phase's failure is counted before teardown runs, while the page is still open.
    """
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        screenshot(page, "journey-failed-here")


def _step(page, name: str, *, identifying: bool = False) -> None:
    """Screenshot journey-NN-<name>.png, numbered in the order taken; no console error so far, and the
    person's CPR number and name on no page but the screening form they are typed into."""
    page.journey_steps = getattr(page, "journey_steps", 0) + 1
    screenshot(page, f"journey-{page.journey_steps:02d}-{name}")
    assert page.console_errors == [], name
    if not identifying:
        shown = page.content()
        assert CPR not in shown and CPR.replace("-", "") not in shown and NAME not in shown, name


def test_screen_consent_randomise_place_assess_and_query(live_server, journey_page, monkeypatch):
    page = journey_page
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    base = live_server.url
    with clock.frozen(DAY_ONE):
        setup = install()
        install_rows(setup, 2)  # blocks of two, IMR first in every stratum
        user("cora", "coordinator", "BAL", personal_data=True)
        user("anna", "assessor", "BAL")
        user("dana", "data_manager")
        facilitators = imr.facilitators()

        # The coordinator screens a person with the generated form.
        _log_in(page, base, "cora")
        page.get_by_role("link", name="Screening").first.click()
        page.get_by_role("link", name="Screen a person").click()
        page.fill("input[name=screened_on]", "2025-01-07")
        page.fill("input[name=referral_source]", "CMHC psychiatrist")
        page.fill("input[name=cpr]", CPR)
        page.fill("input[name=name]", NAME)
        page.fill("input[name=contact]", "+45 1234 5678")
        for code in ("I2", "I4", "I5"):
            page.check(f"input[name={code}][value=yes]")
        page.fill("input[name=I3]", "F20.0")
        for code in ("E1", "E3", "E4", "E5", "E6"):
            page.check(f"input[name={code}][value=no]")
        _step(page, "screening-form", identifying=True)
        page.get_by_role("button", name="Record screening").click()
        page.wait_for_url(f"{base}/participants/BAL-0001/")
        participant = Participant.objects.get()
        assert participant.trial_id == "BAL-0001" and participant.status == "eligible"
        assert "eligible" in page.locator("main").inner_text()
        _step(page, "screening")

        # ... records oral and written consent.
        page.get_by_role("link", name="Record consent").click()
        page.fill("input[name=oral_on]", "2025-01-07")
        page.fill("input[name=written_on]", "2025-01-07")
        page.fill("input[name=taken_by]", "cora")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{base}/participants/BAL-0001/")
        participant.refresh_from_db()
        assert participant.status == "consented"
        assert ConsentRecord.objects.get(participant=participant).written_on.isoformat() == "2025-01-07"
        _step(page, "consent")

        # Set-up: the assessor's baseline forms (entered through the services; the PANSS keyboard test
        # covers entry in the browser), which move the participant to baseline complete.
        complete_visit(participant, "baseline", Context(actor="anna", channel="web"), DAY_ONE.date())
        participant.refresh_from_db()
        assert participant.status == "baseline_complete"

        # ... randomises: nothing happens without the confirmation box ticked.
        page.reload()
        page.get_by_role("link", name="Randomise").click()
        page.get_by_role("button", name="Randomise now").click()
        assert Allocation.objects.count() == 0
        assert "Randomise BAL-0001" in page.locator("h1").inner_text()
        # The refused form comes back with status 400, which chromium reports on the console: expected.
        assert page.console_errors == [BAD_REQUEST]
        page.console_errors.clear()
        page.locator("input[name=confirm]").check()
        _step(page, "randomise-confirm")
        page.get_by_role("button", name="Randomise now").click()
        page.wait_for_url(f"{base}/participants/BAL-0001/")
        assert "BAL-0001 is randomised to IMR" in page.locator("main").inner_text()
        assert Allocation.objects.get(participant=participant).arm == "IMR"
        _step(page, "randomised")

        # ... makes a group at the site with two facilitators and places the participant in it.
        page.locator("nav.main-nav").get_by_role("link", name="Groups").click()
        page.select_option("select[name=site]", index=1)  # the coordinator's one site, after "---------"
        assert "Ballerup" in page.locator("select[name=site] option:checked").inner_text()
        page.fill("input[name=name]", "Tirsdagsgruppen")
        for facilitator in facilitators:
            page.get_by_label(facilitator.username).check()
        page.fill("input[name=planned_start]", GROUP_START)
        page.select_option("select[name=weekday]", label="Tuesday")
        page.fill("input[name=start_time]", "18:00")
        page.get_by_role("button", name="Create group").click()
        page.wait_for_url(f"{base}/imr/groups/*/")
        group = Group.objects.get()
        assert "Group Tirsdagsgruppen created." in page.locator("main").inner_text()
        assert set(group.facilitators.all()) == set(facilitators)
        _step(page, "group-created")
        page.select_option("select[name=action]", label="generate schedule")
        page.get_by_role("button", name="Apply").click()
        # Weekly for 9 months (imr-trial.md) from Tuesday 14 January: every Tuesday up to 7 October 2025,
        # 266 days = 38 weeks after the first: 39 sessions (counted by hand; no Danish holiday on a Tuesday).
        main = page.locator("main").inner_text()
        assert "39 sessions scheduled." in main
        assert "Tue 2025-01-14 18:00" in main and "Tue 2025-10-07 18:00" in main
        assert group.sessions.count() == 39
        _step(page, "group-scheduled")
        page.locator("nav.main-nav").get_by_role("link", name="Waiting list").click()
        row = page.locator("tr", has_text="BAL-0001")
        row.locator("select[name=group]").select_option(label="Tirsdagsgruppen (0 of 10)")
        row.locator("input[name=on]").fill(GROUP_START)
        _step(page, "waiting-list")
        row.get_by_role("button", name="Place").click()
        page.wait_for_url(f"{base}/imr/waiting/")
        assert "BAL-0001 placed in Tirsdagsgruppen." in page.locator("main").inner_text()
        assert "Nobody is waiting." in page.locator("main").inner_text()
        membership = GroupMembership.objects.get(participant=participant)
        assert membership.group == group and membership.placed_on.isoformat() == GROUP_START
        page.locator("nav.main-nav").get_by_role("link", name="Groups").click()
        assert "1 / 10" in page.locator("tr", has_text="Tirsdagsgruppen").inner_text()
        _step(page, "placed-in-group")

    with clock.frozen(MONTH_NINE):
        # Nine months on, the assessor enters the end-of-treatment GAF-F from the visit page.
        _log_in(page, base, "anna")
        page.locator("nav.main-nav").get_by_role("link", name="Visits").click()
        open_visit = page.locator("main table tbody tr", has_text="BAL-0001")
        assert "End of treatment (9 months)" in open_visit.inner_text()  # on the worklist, window open
        open_visit.get_by_role("link", name="BAL-0001").click()
        page.locator("#visit-m9").get_by_role("link", name="GAF-F").click()
        assert page.locator("#assessed_on").input_value() == "2025-10-07"
        expect(page.locator("#f-rating")).to_be_focused()  # the form opens on its one item: type
        page.keyboard.type("55")
        page.get_by_role("button", name="Complete").click()
        page.wait_for_selector('[data-score="total"]')
        gaf = Assessment.objects.get(visit__participant=participant, visit__code="m9", instrument="gaf_f")
        assert gaf.status == "complete" and gaf.values() == {"rating": 55}
        _step(page, "month-nine-gaf-f")

        # ... and every other end-of-treatment form, opened from the visit page and filled in the browser
        # (each item at its lowest allowed value; a select takes its first answer).
        others = [code for code in load_protocol().visit("m9").instruments if code != "gaf_f"]
        for code in others:
            page.get_by_role("link", name="← BAL-0001, End of treatment (9 months)").click()
            page.locator("#visit-m9").get_by_role("link", name=build(get_library().get(code)).short_name,
                                                  exact=True).click()  # fmt: skip
            for field in page.locator("form.instrument .items input[type=number]").all():
                field.fill(field.get_attribute("min"))
            for field in page.locator("form.instrument .items select").all():
                field.select_option(index=1)
            page.get_by_role("button", name="Complete").click()
            page.wait_for_selector(".status.complete")
            assert page.console_errors == [], code
        page.get_by_role("link", name="← BAL-0001, End of treatment (9 months)").click()
        stored = Assessment.objects.filter(visit__participant=participant, visit__code="m9")
        assert sorted(stored.filter(status="complete").values_list("instrument", flat=True)) == sorted(
            ["gaf_f", *others]
        )
        main = page.locator("main").inner_text()
        assert "End of treatment (9 months)" in main and "Still missing: allocation guess" in main
        # The assessor is blinded: neither the arm nor the group shows on the visit page.
        assert "Tirsdagsgruppen" not in page.content() and "treatment as usual" not in page.content()
        _step(page, "month-nine-visit")

        # ... and records the allocation guess that the visit still asks for.
        page.get_by_role("link", name="Record allocation guess").click()
        page.check("input[name=guess][value=dont_know]")
        page.get_by_role("button", name="Record guess").click()
        page.wait_for_url(f"{base}/assessments/p/BAL-0001/")
        assert "Your guess is recorded." in page.locator("main").inner_text()
        guess = AllocationGuess.objects.get(participant=participant)
        assert guess.visit.code == "m9" and guess.guess == "dont_know"
        assert "Still missing" not in page.locator("#visit-m9").inner_text()
        _step(page, "month-nine-guess")

    with clock.frozen(MONTH_NINE + dt.timedelta(days=3)):
        # The data manager raises a query on the 9-month GAF-F from the participant's casebook.
        _log_in(page, base, "dana")
        page.locator("nav.main-nav").get_by_role("link", name="Casebooks").click()
        page.get_by_role("link", name="BAL-0001").click()
        page.get_by_role("link", name="Raise a query").click()
        page.select_option("#visit", label="End of treatment (9 months)")
        page.select_option("#instrument", "gaf_f")
        page.fill("#field", "rating")
        page.fill("#text", "GAF-F fell from 100 at baseline to 55: please check against the source.")
        _step(page, "query-form")
        page.get_by_role("button", name="Raise query").click()
        query = Query.objects.get()
        page.wait_for_url(f"{base}/data/queries/{query.pk}/")
        assert page.locator("#status").inner_text() == "open"
        assert query.visit.code == "m9" and query.instrument == "gaf_f" and query.field == "rating"
        _step(page, "query-raised")

        # The site coordinator finds it under Queries and answers it.
        _log_in(page, base, "cora")
        page.locator("nav.main-nav").get_by_role("link", name="Queries").click()
        page.get_by_role("link", name=str(query.pk), exact=True).click()
        page.fill("#text", "Checked against the interview notes: 55 is right.")
        page.get_by_role("button", name="Answer").click()
        expect(page.locator("#status")).to_have_text("answered")  # updated in place (htmx)
        assert "answered by cora" in page.locator("ol.thread").inner_text()
        query.refresh_from_db()
        assert query.status == "answered"
        _step(page, "query-answered")

        # The data manager reads the answer and closes the query.
        _log_in(page, base, "dana")
        page.locator("nav.main-nav").get_by_role("link", name="Queries").click()
        page.get_by_role("link", name=str(query.pk), exact=True).click()
        assert "55 is right" in page.locator("ol.thread").inner_text()
        page.get_by_role("button", name="Close").click()
        expect(page.locator("#status")).to_have_text("closed")
        query.refresh_from_db()
        assert query.status == "closed"
        _step(page, "query-closed")
