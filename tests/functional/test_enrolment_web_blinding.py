"""Blinding from the outside: an assessor crawls every enrolment page and never meets an arm."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from enrolment_support import enrol, install, install_rows, screen, user
from trialdesk.apps.randomisation.models import UnblindingRequest
from trialdesk.apps.randomisation.services import randomise
from trialdesk.apps.randomisation.unblinding import request_unblinding
from trialdesk.protocol import load_protocol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
PREFIXES = ("/participants/", "/screening/", "/consent/", "/randomisation/")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "action") and value and value.startswith("/"):
                self.links.append(value.split("#")[0])


def _arm_pattern():
    words = []
    for arm in load_protocol().arms:
        words += [re.escape(arm.label), rf"\b{re.escape(arm.code)}\b"]
    return re.compile("|".join(words), re.IGNORECASE)


def test_an_assessor_meets_no_arm_anywhere():
    ctx = install()
    install_rows(ctx, 4)
    coordinator = user("signe", "coordinator", "BAL")
    randomised = [enrol(ctx, "BAL", code) for code in ("F20.0", "F31.1", "F20.1")]
    for participant in randomised:
        randomise(participant, ctx)
    request_unblinding(randomised[0], coordinator, "emergency", ctx)
    screen(ctx, "BAL", E4=True)
    assessor = user("anna", "assessor", "BAL")
    client = Client()
    client.force_login(assessor)
    arms = _arm_pattern()
    request_id = UnblindingRequest.objects.get().pk
    # Every page reachable by links from home, plus each page an assessor could type in.
    queue = [
        "/",
        "/participants/",
        "/screening/",
        "/screening/new/",
        "/randomisation/lists/",
        "/randomisation/unblinding/",
        f"/randomisation/unblinding/{request_id}/",
    ]
    for participant in randomised:
        trial_id = participant.trial_id
        queue += [
            f"/participants/{trial_id}/",
            f"/participants/{trial_id}/personal/",
            f"/consent/{trial_id}/",
            f"/consent/{trial_id}/withdraw/",
            f"/randomisation/{trial_id}/",
            f"/randomisation/unblinding/new/{trial_id}/",
        ]
    seen, statuses = set(), {}
    while queue:
        url = queue.pop()
        if url in seen or not (url == "/" or url.startswith(PREFIXES)):
            continue
        seen.add(url)
        response = client.get(url)
        statuses[url] = response.status_code
        body = response.content.decode()
        assert not arms.search(body), f"{url} shows an arm to an assessor: {arms.search(body).group(0)!r}"
        parser = _Links()
        parser.feed(body)
        queue += parser.links
    # The assessor reached the participant pages, and was refused the rest without a hint of the arm.
    assert statuses["/participants/"] == 200
    assert all(statuses[f"/participants/{p.trial_id}/"] == 200 for p in randomised)
    assert statuses[f"/randomisation/{randomised[0].trial_id}/"] == 403
    assert statuses["/randomisation/lists/"] == 403
    assert statuses[f"/randomisation/unblinding/{request_id}/"] in (403, 404)
    # Posting to the randomise action is refused too, with nothing in the answer.
    refused = client.post(f"/randomisation/{randomised[0].trial_id}/", {"confirm": "on"})
    assert refused.status_code == 403
    assert not arms.search(refused.content.decode())
    assert len(seen) >= 20


def test_a_coordinator_sees_the_arm_that_the_assessor_does_not():
    ctx = install()
    install_rows(ctx, 2)
    participant = enrol(ctx)
    randomise(participant, ctx)
    client = Client()
    client.force_login(user("signe", "coordinator", "BAL"))
    assert _arm_pattern().search(client.get(f"/participants/{participant.trial_id}/").content.decode())
