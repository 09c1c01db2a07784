"""A person logs in with a real browser and reaches their home page; no console errors."""

import pytest

from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.demo import DEMO_PASSWORD, prepare
from trialdesk.protocol import load_protocol

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_coordinator_logs_in_with_the_keyboard(live_server, page):
    protocol = load_protocol()
    prepare(protocol, Context(actor="demo", channel="command", protocol_hash=protocol.content_hash))
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.keyboard.type("coordinator")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Site coordinator").is_visible()
    assert "Ballerup" in page.content()
    screenshot(page, "home-coordinator")
    assert page.console_errors == []
