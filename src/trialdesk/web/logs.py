"""Structured logs that never carry a CPR number, each line tagged with the request it belongs to.

JSON lines come from python-json-logger. ``PersonalDataFilter`` sits on the handler, so it sees every
record that is written, whichever logger made it (Django's ``Not Found: /path`` lines, tracebacks,
third-party libraries), and masks CPR-like numbers in the message, its arguments, the traceback and
any extra fields before a formatter sees them.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

#: DDMMYY-SSSS, DDMMYYSSSS or DDMMYY SSSS not inside a longer run of digits. Deliberately broad: any
#: ten-digit number is masked, valid date or not, because a false alarm costs less than a leak.
CPR_PATTERN = re.compile(r"(?<!\d)\d{6}[- ]?\d{4}(?!\d)")
CPR_MASK = "******-****"

_request_id: ContextVar[str] = ContextVar("trialdesk_request_id", default="-")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
#: Attributes every LogRecord has; anything else on a record is an ``extra`` field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


def mask(text: str) -> str:
    return CPR_PATTERN.sub(CPR_MASK, text)


def current_request_id() -> str:
    return _request_id.get()


class PersonalDataFilter(logging.Filter):
    """Masks CPR-like numbers everywhere in a record and adds ``request_id``. Never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Django logs 4xx responses after the middleware has returned: take the id from the request.
            request_id = getattr(getattr(record, "request", None), "request_id", None)
            record.request_id = request_id or current_request_id()
        if not getattr(record, "_trialdesk_masked", False):
            record.msg = mask(record.getMessage())
            record.args = None
            if record.exc_info:
                # Formatters prefer exc_info over exc_text: render it here, masked, and drop the original.
                record.exc_text = mask(self._formatter.formatException(record.exc_info))
                record.exc_info = None
            elif record.exc_text:
                record.exc_text = mask(record.exc_text)
            if record.stack_info:
                record.stack_info = mask(record.stack_info)
            for key, value in list(vars(record).items()):
                if key in _STANDARD or key.startswith("_"):
                    continue
                if isinstance(value, str):
                    setattr(record, key, mask(value))
                elif not isinstance(value, int | float | bool | type(None)):
                    # e.g. Django's ``request`` extra, whose repr holds the path and query string
                    setattr(record, key, mask(str(value)))
            record._trialdesk_masked = True
        return True


class RequestIdMiddleware:
    """Gives each request an id (or keeps a well-formed ``X-Request-ID`` from the proxy) for logs,
    the response header and the error page, so a user can quote it to support."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


def logging_config(*, fmt: str = "json", level: str = "WARNING") -> dict:
    """The LOGGING setting: one stderr handler, JSON lines (or plain text), personal data masked."""
    if fmt == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC, e.g. 2026-03-01T09:30:00.123000+00:00
        }
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"personal_data": {"()": "trialdesk.web.logs.PersonalDataFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["personal_data"]},
        },
        # Django's own 'django' handlers (console when DEBUG, mail_admins) are replaced: everything goes
        # through the one masked handler on the root logger.
        "loggers": {"django": {"handlers": [], "level": level, "propagate": True}},
        "root": {"handlers": ["console"], "level": level},
    }
