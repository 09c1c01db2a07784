"""Error pages say what happened in plain words, without stack traces, paths or data; logs are JSON
lines with a request id and never hold a CPR number, whatever logged it."""

from __future__ import annotations

import io
import json
import logging
import sys
import types
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template import RequestContext, Template
from django.test import Client
from django.urls import include, path

pytestmark = pytest.mark.django_db

CPR = "010190-1234"
CPR_DIGITS = "0101901234"


def _boom(request):
    raise ValueError(f"lookup failed for {CPR} (participant {CPR_DIGITS})")


def _forbidden(request):
    raise PermissionDenied(f"participant {CPR} is enrolled at FRB")


def _nonce(request):
    template = Template('<script nonce="{{ CSP_NONCE }}">document.title = "x";</script>')
    return HttpResponse(template.render(RequestContext(request)))


@pytest.fixture
def urls(settings, monkeypatch):
    module = types.ModuleType("security_test_urls")
    module.urlpatterns = [
        path("boom/", _boom),
        path("forbidden/", _forbidden),
        path("nonce/", _nonce),
        path("", include("trialdesk.web.urls")),
    ]
    module.handler500 = "trialdesk.web.errors.server_error"
    monkeypatch.setitem(sys.modules, module.__name__, module)
    settings.ROOT_URLCONF = module.__name__


@pytest.fixture
def log_lines():
    """What the configured stderr handler writes, as parsed JSON lines."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    original = handler.setStream(stream)
    lines: list[dict] = []
    yield lambda: [*lines, *(json.loads(line) for line in stream.getvalue().splitlines())]
    handler.setStream(original)


def test_debug_is_off_unless_asked_for():
    import trialdesk.web.settings as production

    assert production.DEBUG is False


def test_server_error_page_is_plain_and_quotes_the_request_id(urls, log_lines):
    response = Client(raise_request_exception=False).get("/boom/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html and response["X-Request-ID"] in html
    for leak in ("Traceback", "ValueError", "lookup failed", CPR, CPR_DIGITS, "boom"):
        assert leak not in html
    [error] = [line for line in log_lines() if line["level"] == "ERROR"]
    assert error["logger"] == "django.request" and error["request_id"] == response["X-Request-ID"]
    assert "ValueError: lookup failed for ******-**** (participant ******-****)" in error["exc_info"]
    assert CPR not in json.dumps(error) and CPR_DIGITS not in json.dumps(error)


def test_not_found_page_does_not_echo_the_path_and_the_log_masks_it(urls, log_lines, caplog):
    response = Client().get(f"/participants/search/{CPR_DIGITS}/?cpr={CPR}")
    html = response.content.decode()
    assert response.status_code == 404 and "Page not found" in html
    assert CPR_DIGITS not in html and CPR not in html and "search" not in html
    [warning] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert warning["message"] == "Not Found: /participants/search/******-****/"
    assert warning["request_id"] == response["X-Request-ID"]
    # The records pytest captured went through the same filter (it runs on the first root handler).
    assert caplog.records and all(CPR_DIGITS not in record.getMessage() for record in caplog.records)


def test_forbidden_page_does_not_repeat_the_reason(urls):
    client = Client()
    response = client.get("/forbidden/")
    html = response.content.decode()
    assert response.status_code == 403 and "You are not allowed to see this page" in html
    assert CPR not in html and "FRB" not in html and "enrolled" not in html


def test_expired_form_page_explains_and_saves_nothing():
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    html = response.content.decode()
    assert response.status_code == 403 and "The form has expired" in html and "Nothing was saved" in html
    assert "CSRF" not in html


def test_a_template_that_uses_the_nonce_gets_it_in_the_policy(urls):
    response = Client().get("/nonce/")
    nonce = response.content.decode().split('nonce="')[1].split('"')[0]
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    again = Client().get("/nonce/").content.decode().split('nonce="')[1].split('"')[0]
    assert again != nonce


def test_any_logger_arguments_and_extras_are_masked(log_lines):
    logger = logging.getLogger("trialdesk.anything")
    logger.warning("looked up %s and %s", CPR, "2512841234", extra={"cpr": CPR_DIGITS, "count": 3})
    [line] = log_lines()
    assert line["message"] == "looked up ******-**** and ******-****"
    assert line["cpr"] == "******-****" and line["count"] == 3
    assert line["request_id"] == "-"  # outside a request
    assert {"time", "level", "logger", "message"} <= set(line)
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
