"""Every refusal as JSON ``{"detail": ..., "field": ...}``: 400 malformed, 401 no valid token, 403 not
allowed, 404 not found (or not yours), 409 conflicts with the record's state, 422 invalid input.

Service refusals carry the services' own messages, which never name an arm (the services are blinded
in what they say, for the web's sake too). Anything else is a bug: logged with the request id, answered
500 with no traceback.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError

log = logging.getLogger("trialdesk.api")


class Problem(Schema):
    """A refused request."""

    detail: str
    field: str | None = None
    fields: dict[str, str] | None = None


class ApiError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


def forbidden(detail: str) -> ApiError:
    return ApiError(403, detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


def invalid(field: str, detail: str) -> ApiError:
    return ApiError(422, detail, field)


#: What every operation may answer besides its success (documented in the OpenAPI description).
REFUSALS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}


def _field_of(location: list | tuple) -> str:
    # ninja reports ("body", "payload", "answers", "I2"); the client knows only the part after the model.
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind, rest = parts[0], parts[1:]
        if kind == "body" and len(rest) > 1:
            rest = rest[1:]
        return ".".join(rest) or kind
    return ".".join(parts)


def install(api) -> None:
    def respond(request, status: int, detail: str, field: str | None = None, fields=None):
        body: dict = {"detail": detail, "field": field}
        if fields:
            body["fields"] = fields
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.detail, exc.field)

    @api.exception_handler(InputError)
    def _input_error(request, exc: InputError):
        first = next(iter(exc.fields), None)
        return respond(request, 422, str(exc), first, exc.fields)

    @api.exception_handler(UserError)
    def _user_error(request, exc: UserError):
        return respond(request, 409, str(exc))

    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        fields = {}
        for error in exc.errors:
            fields.setdefault(_field_of(error.get("loc", ())), str(error.get("msg", "invalid")))
        first = next(iter(fields), None)
        text = "; ".join(f"{name}: {message}" for name, message in fields.items())
        return respond(request, 422, text or _("invalid request"), first, fields)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        response = respond(request, 401, _("a valid API token is required (Authorization: Bearer td_…)"))
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        status = exc.status_code if exc.status_code in (400, 401, 403, 404, 405, 409, 422) else 400
        return respond(request, status, str(exc.message) if hasattr(exc, "message") else str(exc))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return respond(request, 404, _("not found"))

    @api.exception_handler(PermissionDenied)
    def _denied(request, exc):
        return respond(request, 403, str(exc) or _("not allowed"))

    @api.exception_handler(Exception)
    def _bug(request, exc):
        log.exception("API request failed", extra={"path": request.path})
        return respond(request, 500, _("internal error (request %(request_id)s)") % {
            "request_id": getattr(request, "request_id", "")})
