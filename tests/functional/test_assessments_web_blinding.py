"""Blinding from the outside: a blinded assessor crawls every page reachable from their home page and from
the assessment URLs (and the refusals of bad submissions), and no arm code or label from the protocol
appears anywhere, except as the choices of the guess form; and the pages of a participant allocated to
one arm are identical to those of a participant with the same history allocated to the other."""

import datetime as dt
import re
from collections import deque

import pytest

from assessments_html import links
from assessments_support import allocation_list, complete, consented, randomised
from enrolment_support import install, user
from trialdesk.apps.assessments import services
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.protocol import load_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
PROTOCOL = load_protocol()
M9_DAY = dt.date(2011, 12, 1)
GUESS_CHOICES = re.compile(r"<fieldset[^>]*data-guess-choices.*?</fieldset>", re.S)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def arm_patterns() -> list[re.Pattern]:
    patterns = []
    for arm in PROTOCOL.arms:
        patterns.append(re.compile(rf"\b{re.escape(arm.code)}\b"))  # IMR, TAU as words (IMRS is a scale)
        patterns.append(re.compile(re.escape(arm.label), re.I))
    patterns.append(re.compile(re.escape(PROTOCOL.intervention.name), re.I))
    return patterns


def leaks(html: str) -> list[str]:
    shown = GUESS_CHOICES.sub("", html)
    return [m.group(0) for pattern in arm_patterns() for m in pattern.finditer(shown)]


@pytest.fixture
def trial():
    """Two randomised participants with identical histories (one per arm), and one only consented."""
    ctx = install()
    allocation_list(ctx)
    first, second = randomised(ctx), randomised(ctx)
    arms = {Allocation.objects.get(participant=p).arm for p in (first, second)}
    assert arms == {"IMR", "TAU"}  # the hand-written list: IMR, TAU, ...
    colleague = user("jonas", "assessor", "BAL")
    for participant in (first, second):
        complete(participant, "m9", "gaf_f", ctx, M9_DAY)
        services.mark_not_done(participant, "m9", "panss", "participant declined the interview", ctx)
        services.issue(participant, "m9", ["audit"], ctx)
    services.record_guess(first, "m9", colleague, guess="IMR", confidence="5", guessed_on=M9_DAY, context=ctx)
    services.record_incident(first, "m9", colleague, occurred_on=M9_DAY, how="participant_disclosed",
                             description="told me about the IMR group on Tuesdays", assessor_replaced=True,
                             context=ctx)  # fmt: skip
    waiting = consented(ctx)
    return ctx, [first, second, waiting]


def _start_urls(people) -> list[str]:
    urls = ["/", "/assessments/"]
    for participant in people:
        base = f"/assessments/p/{participant.trial_id}"
        urls += [f"{base}/", f"{base}/incident/"]
        for visit in PROTOCOL.visits:
            urls += [f"{base}/{visit.code}/{code}/" for code in visit.instruments]
            urls += [f"{base}/{visit.code}/guess/", f"{base}/{visit.code}/self-report-link/"]
    return urls


def crawl(client, start: list[str]) -> dict[str, tuple[int, str]]:
    seen: dict[str, tuple[int, str]] = {}
    queue = deque(start)
    while queue and len(seen) < 600:
        url = queue.popleft().split("#")[0]
        if url in seen or not url.startswith("/") or url.startswith(("/static/", "/logout/")):
            continue
        response = client.get(url)
        body = response.content.decode() if response.get("Content-Type", "").startswith("text/html") else ""
        seen[url] = (response.status_code, body)
        if response.status_code in (301, 302):
            queue.append(response["Location"])
        queue.extend(links(body))
    return seen


def test_an_assessor_never_sees_an_arm(trial, client):
    _ctx, people = trial
    anna = user("anna", "assessor", "BAL")
    client.force_login(anna)
    pages = crawl(client, _start_urls(people))
    assert 100 < len(pages) < 600  # the crawl ran to the end, not into its page limit
    assert all(status < 500 for status, _ in pages.values())
    found = {url: leaks(body) for url, (_, body) in pages.items() if leaks(body)}
    assert found == {}
    # The crawl would have noticed: the guess form does list the arms (as choices) ...
    guess = pages[f"/assessments/p/{people[1].trial_id}/m9/guess/"][1]
    assert "IMR + treatment as usual" in guess
    # ... and the colleague's incident description is kept from every page.
    assert not any("Tuesdays" in body for _, body in pages.values())


def test_refusals_shown_to_an_assessor_name_no_arm(trial, client):
    _ctx, people = trial
    client.force_login(user("anna", "assessor", "BAL"))
    participant = people[1]
    base = f"/assessments/p/{participant.trial_id}"
    responses = [
        client.post(f"{base}/m9/ymrs/", {"action": "complete", "assessed_on": "2011-01-01", "item_1": "9"}),
        client.post(f"{base}/m9/hamd17/", {"action": "not_done", "not_done_reason": ""}),
        client.post(f"{base}/m9/guess/", {"guess": "both", "confidence": "7", "guessed_on": "x"}),
        client.post(f"{base}/m9/guess/", {"guess": "TAU", "confidence": "", "guessed_on": "2011-12-01"}),
        client.post(f"{base}/m9/guess/", {"guess": "both", "confidence": "2", "guessed_on": "2011-12-01"}),
        client.post(f"{base}/incident/", {"how": "x", "occurred_on": "2030-01-01"}),
        client.post(f"{base}/m9/self-report-link/", {"instruments": ["panss"], "valid_days": "90"}),
        client.post(f"{base}/m21/book/", {"booked_on": "1999-01-01"}),
        client.post(f"{base}/baseline-date/", {"baseline_date": "2011-03-01", "reason": ""}),
    ]
    assert [r.status_code for r in responses] == [400] * len(responses)
    for response in responses:
        assert leaks(response.content.decode()) == []


def _normalised(html: str, trial_id: str) -> str:
    return CSRF.sub("", html).replace(trial_id, "PARTICIPANT")


def test_pages_do_not_depend_on_the_arm(trial, client):
    _ctx, people = trial
    client.force_login(user("anna", "assessor", "BAL"))
    first, second = people[0], people[1]

    def pages_of(participant):
        base = f"/assessments/p/{participant.trial_id}"
        urls = [f"{base}/m9/{code}/" for code in PROTOCOL.visit("m9").instruments]
        urls += [f"{base}/m21/guess/", f"{base}/m9/self-report-link/", f"{base}/baseline/panss/"]
        pages = {}
        for url in urls:
            pages[url.replace(participant.trial_id, "P")] = _normalised(
                client.get(url).content.decode(), participant.trial_id
            )
        return pages

    assert pages_of(first) == pages_of(second)
