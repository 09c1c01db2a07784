"""The API's Swagger UI page in chromium: every operation rendered from /api/openapi.json, with the strict
Content Security Policy in force and no console error (a blocked script, style or image would log one)."""

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_page_renders_under_the_csp(live_server, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(f"{live_server.url}/api/docs")
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() >= 28
    assert page.get_by_text("trialdesk API").first.is_visible()
    screenshot(page, "api-docs")
    assert page.console_errors == []
    assert all(url.startswith((live_server.url, "data:")) for url in requested), requested
